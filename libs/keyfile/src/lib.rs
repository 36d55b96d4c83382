//! Files that hold secrets: the development signing key (`hearth-auth`) and the development
//! data keys (`hearth-privacy`) are written and checked here, the one place. Standard library
//! only, below both crates.

use std::fs;
use std::io::{self, Write as _};
use std::path::Path;

/// Creates `path` with mode 0600 from the start (no window in which other users can read it),
/// writes `contents` and syncs it. Never overwrites: an existing file is
/// `io::ErrorKind::AlreadyExists`.
pub fn create_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Whether other users (group or others) may read or write `path`; `false` when it cannot be
/// read, and on systems without Unix permissions.
pub fn readable_by_others(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::metadata(path).is_ok_and(|metadata| metadata.permissions().mode() & 0o077 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_private_file_is_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        create_private(&path, b"first").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"first");
        let again = create_private(&path, b"second").unwrap_err();
        assert_eq!(again.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&path).unwrap(), b"first");
    }

    #[cfg(unix)]
    #[test]
    fn a_private_file_is_mode_0600_and_a_wider_one_is_noticed() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        create_private(&path, b"key").unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(!readable_by_others(&path));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        assert!(readable_by_others(&path));
        assert!(!readable_by_others(&dir.path().join("missing")));
    }
}
