//! Secret keys kept in a file of the data dir: created once, readable by the owner only, and
//! reused after a restart so that URLs and tokens signed before it stay valid.

use anyhow::Context;
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::Path;

/// Reads the 256-bit key at `path` (64 hex digits), or creates it from the OS's random source.
///
/// Two processes starting at once end up with the same key: the file is published with a hard
/// link, which fails rather than replaces when the other one got there first.
pub fn load_or_create_signing_key(path: &Path) -> anyhow::Result<[u8; 32]> {
    if let Some(key) = read_key(path)? {
        return Ok(key);
    }
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;

    let mut key = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
    let temp = dir.join(format!(".key-{}.tmp", uuid::Uuid::new_v4().simple()));
    let written = write_private(&temp, format!("{}\n", hex::encode(key)).as_bytes())
        .and_then(|()| match fs::hard_link(&temp, path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(e),
        })
        .with_context(|| format!("creating the key file {}", path.display()));
    let _ = fs::remove_file(&temp);
    written?;
    read_key(path)?.with_context(|| format!("the key file {} disappeared", path.display()))
}

fn read_key(path: &Path) -> anyhow::Result<Option<[u8; 32]>> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(e).with_context(|| format!("reading the key file {}", path.display()));
        }
    };
    let key = hex::decode(text.trim())
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .with_context(|| {
            format!(
                "the key file {} does not hold a 256-bit key (64 hex digits); restore it, or \
                 delete it to make a new one (which invalidates what the old one signed)",
                path.display()
            )
        })?;
    restrict(path)?;
    Ok(Some(key))
}

fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// A key file that someone made readable by others is put back to owner-only.
fn restrict(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path)
            .with_context(|| format!("reading the permissions of {}", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            fs::set_permissions(path, fs::Permissions::from_mode(0o600))
                .with_context(|| format!("restricting {}", path.display()))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}
