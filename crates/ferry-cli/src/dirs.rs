//! Where the command line keeps its files, the XDG way (macOS too, as most command lines do):
//! `FERRY_CONFIG_DIR` / `FERRY_STATE_DIR` first, then `$XDG_CONFIG_HOME/ferry` and
//! `$XDG_STATE_HOME/ferry`, then `~/.config/ferry` and `~/.local/state/ferry`; on Windows
//! `%APPDATA%\ferry`.

use std::path::PathBuf;

fn from_env(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn base(xdg: &str, under_home: &str) -> PathBuf {
    from_env(xdg)
        .or_else(|| from_env("HOME").map(|home| home.join(under_home)))
        .or_else(|| from_env("APPDATA"))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("ferry")
}

pub fn config_dir() -> PathBuf {
    from_env("FERRY_CONFIG_DIR").unwrap_or_else(|| base("XDG_CONFIG_HOME", ".config"))
}

pub fn state_dir() -> PathBuf {
    from_env("FERRY_STATE_DIR").unwrap_or_else(|| base("XDG_STATE_HOME", ".local/state"))
}
