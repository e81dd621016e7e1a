//! Folders and files that hold secrets (`keys/`, the SQLite database under `data/`): created
//! with no group or other access, and tightened when they already exist with more. Gatehouse
//! used to set 0700 on `keys/` only when it created the folder itself, so a folder made
//! beforehand by `mkdir keys` (0755 under the usual umask) stayed listable by every local user,
//! and the SQLite file was created 0644 (world-readable hashes and sealed seeds).
//!
//! Tightening is a `chmod`, which the kernel allows only the owner (or root); when it fails the
//! caller refuses to start with one line naming the path and the command that fixes it.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Mode for private folders.
pub const DIR_MODE: u32 = 0o700;
/// Mode for private files.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and missing parents) with mode 0700, or tightens an existing one.
pub fn ensure_dir(dir: &Path) -> Result<(), String> {
    if !dir.exists() {
        return fs::DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(dir)
            .map_err(|e| format!("cannot create folder {}: {e}", dir.display()));
    }
    tighten(dir, DIR_MODE)
}

/// Creates `path` empty with mode 0600 if it does not exist (never truncates), or tightens it.
pub fn ensure_file(path: &Path) -> Result<(), String> {
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => tighten(path, FILE_MODE),
        Err(e) => Err(format!("cannot create {}: {e}", path.display())),
    }
}

/// Removes group and other access from an existing `path` by setting `mode`; a no-op when it
/// has none. Refuses (with the fix in the message) when the chmod is not permitted.
pub fn tighten(path: &Path, mode: u32) -> Result<(), String> {
    let current = fs::metadata(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .permissions()
        .mode()
        & 0o777;
    if current & 0o077 == 0 {
        return Ok(());
    }
    match fs::set_permissions(path, fs::Permissions::from_mode(mode)) {
        Ok(()) => {
            tracing::warn!(
                path = %path.display(),
                from = %format!("{current:04o}"),
                to = %format!("{mode:04o}"),
                "tightened permissions: other users could read it"
            );
            Ok(())
        }
        Err(e) => Err(refusal(path, current, mode, &e)),
    }
}

fn refusal(path: &Path, current: u32, mode: u32, e: &std::io::Error) -> String {
    format!(
        "{} is accessible to other users (mode {current:04o}) and cannot be tightened ({e}): \
         run `chmod {mode:o} {}` as its owner",
        path.display(),
        path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn creates_private_and_tightens_existing() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        ensure_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&tmp.path().join("a")), 0o700);
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        ensure_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);

        let file = dir.join("f");
        ensure_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        fs::write(&file, b"kept").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        ensure_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        assert_eq!(fs::read(&file).unwrap(), b"kept", "never truncated");
    }

    #[test]
    fn refusal_names_the_path_and_the_fix() {
        let e = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let msg = refusal(Path::new("/srv/keys"), 0o755, 0o700, &e);
        assert!(msg.contains("/srv/keys") && msg.contains("0755"), "{msg}");
        assert!(msg.contains("`chmod 700 /srv/keys`"), "{msg}");
        assert_eq!(msg.lines().count(), 1);
    }
}
