//! Where clamd listens: `host:port` (its `TCPSocket`) or the path of its `LocalSocket`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClamdAddress {
    /// `host:port`, resolved at each connection (`localhost:3310`, `10.0.0.5:3310`, `[::1]:3310`).
    Tcp(String),
    /// A Unix socket path (`/run/clamav/clamd.ctl`).
    Unix(PathBuf),
}

impl FromStr for ClamdAddress {
    type Err = String;

    /// `host:port`, `tcp://host:port`, an absolute or `./` path, or `unix:PATH`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err("the clamd address is empty; expected host:port or a socket path".into());
        }
        if let Some(path) = s.strip_prefix("unix:") {
            return unix(path.strip_prefix("//").unwrap_or(path));
        }
        if s.starts_with('/') || s.starts_with("./") || s.starts_with("../") {
            return unix(s);
        }
        let hostport = s.strip_prefix("tcp://").unwrap_or(s);
        let Some((host, port)) = hostport.rsplit_once(':') else {
            return Err(format!(
                "'{}' is neither host:port nor a socket path (which starts with / or ./)",
                s.escape_debug()
            ));
        };
        let valid_host = !host.is_empty()
            && !host.contains('/')
            && (host.starts_with('[') == host.ends_with(']'))
            && (host.starts_with('[') || !host.contains(':'));
        if !valid_host {
            return Err(format!(
                "'{}' has no valid host (write IPv6 addresses as [::1]:3310)",
                s.escape_debug()
            ));
        }
        match port.parse::<u16>() {
            Ok(p) if p != 0 => Ok(Self::Tcp(hostport.to_owned())),
            _ => Err(format!(
                "'{}' has no valid port (1 to 65535)",
                s.escape_debug()
            )),
        }
    }
}

fn unix(path: &str) -> Result<ClamdAddress, String> {
    if path.is_empty() {
        return Err("the clamd socket path is empty".into());
    }
    if cfg!(unix) {
        Ok(ClamdAddress::Unix(PathBuf::from(path)))
    } else {
        Err("Unix sockets are not available on this platform; use host:port".into())
    }
}

impl fmt::Display for ClamdAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp(hostport) => f.write_str(hostport),
            Self::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ClamdAddress;

    fn parse(s: &str) -> Result<ClamdAddress, String> {
        s.parse()
    }

    #[test]
    fn reads_host_port_and_socket_paths() {
        assert_eq!(
            parse("127.0.0.1:3310"),
            Ok(ClamdAddress::Tcp("127.0.0.1:3310".into()))
        );
        assert_eq!(
            parse(" tcp://localhost:3310 "),
            Ok(ClamdAddress::Tcp("localhost:3310".into()))
        );
        assert_eq!(
            parse("[::1]:3310"),
            Ok(ClamdAddress::Tcp("[::1]:3310".into()))
        );
        #[cfg(unix)]
        {
            use std::path::PathBuf;
            let ctl = ClamdAddress::Unix(PathBuf::from("/run/clamav/clamd.ctl"));
            assert_eq!(parse("/run/clamav/clamd.ctl"), Ok(ctl.clone()));
            assert_eq!(parse("unix:/run/clamav/clamd.ctl"), Ok(ctl.clone()));
            assert_eq!(parse("unix:///run/clamav/clamd.ctl"), Ok(ctl.clone()));
            assert_eq!(ctl.to_string(), "unix:/run/clamav/clamd.ctl");
            assert_eq!(
                parse("./clamd.sock"),
                Ok(ClamdAddress::Unix(PathBuf::from("./clamd.sock")))
            );
        }
    }

    #[test]
    fn says_what_is_wrong() {
        for bad in [
            "",
            "clamd",
            "host:",
            "host:0",
            "host:99999",
            ":3310",
            "::1:3310",
            "unix:",
        ] {
            let error = parse(bad).unwrap_err();
            assert!(!error.is_empty(), "{bad}");
        }
        assert!(parse("clamd").unwrap_err().contains("host:port"));
        assert!(parse("::1:3310").unwrap_err().contains("[::1]:3310"));
    }
}
