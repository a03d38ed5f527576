//! Files and directories that only the service's user may read.

use std::path::Path;

/// Creates a directory (and parents) with mode 0700; an existing one is left as it is.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

/// Creates a new file with mode 0600 for writing (fails if it exists).
pub fn create_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

/// Creates a new file with mode 0600 (fails if it exists) and syncs it.
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = create_private_file(path)?;
    f.write_all(contents)?;
    f.sync_all()
}

/// Puts `from` at `to`, which must not exist (never over a file that appeared
/// meanwhile): a hard link where it can, else a copy into a new private file (removed
/// again if the copy fails); then `from` is removed.
pub fn move_into_new(from: &Path, to: &Path) -> std::io::Result<()> {
    if std::fs::hard_link(from, to).is_err() {
        let mut out = create_private_file(to)?;
        let copied =
            std::io::copy(&mut std::fs::File::open(from)?, &mut out).and_then(|_| out.sync_all());
        if let Err(e) = copied {
            let _ = std::fs::remove_file(to);
            return Err(e);
        }
    }
    std::fs::remove_file(from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_moved_only_where_none_is() {
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (dir.path().join("copy"), dir.path().join("live"));
        std::fs::write(&from, b"restored").unwrap();
        std::fs::write(&to, b"appeared meanwhile").unwrap();
        assert!(move_into_new(&from, &to).is_err());
        assert_eq!(std::fs::read(&to).unwrap(), b"appeared meanwhile");
        assert!(from.exists(), "nothing moved");
        std::fs::remove_file(&to).unwrap();
        move_into_new(&from, &to).unwrap();
        assert_eq!(std::fs::read(&to).unwrap(), b"restored");
        assert!(!from.exists());
    }
}
