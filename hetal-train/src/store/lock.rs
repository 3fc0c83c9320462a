//! The lock of a job directory: one process at a time works on a job.
//!
//! Two trainers on one job would interleave checkpoints and reports; a client answering while
//! the server writes would race it. [`JobLock::acquire`] takes an exclusive advisory lock
//! (`flock`) on `<job>/.lock` without waiting, and refuses with [`FileError::Busy`] when another
//! process holds it. The lock goes with the process: a crash releases it, so it never needs
//! clearing by hand. Holding it, the process removes the temporary files that interrupted
//! writes left in the job's folders.

use super::atomic::remove_stale_temporaries;
use super::FileError;
use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

/// The name of the lock file inside a job directory.
pub const LOCK_FILE: &str = ".lock";

/// An exclusive lock on a job directory, held until dropped.
#[derive(Debug)]
pub struct JobLock {
    _file: File,
    path: PathBuf,
    removed: Vec<PathBuf>,
}

impl JobLock {
    /// Locks `dir` (created if missing), then removes stale temporary files from `dir` and
    /// from each of `subdirs` (relative to `dir`).
    pub fn acquire(dir: &Path, subdirs: &[&str]) -> Result<Self, FileError> {
        std::fs::create_dir_all(dir).map_err(|e| FileError::io(dir, e))?;
        let path = dir.join(LOCK_FILE);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| FileError::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(FileError::Busy { path }),
            Err(TryLockError::Error(e)) => return Err(FileError::io(&path, e)),
        }
        let mut removed = remove_stale_temporaries(dir)?;
        for sub in subdirs {
            removed.extend(remove_stale_temporaries(&dir.join(sub))?);
        }
        Ok(Self { _file: file, path, removed })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stale temporary files removed when the lock was taken.
    pub fn removed(&self) -> &[PathBuf] {
        &self.removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let d = std::env::temp_dir().join(format!("hetal-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("server")).unwrap();
        std::fs::write(d.join("server/.state.hckpt.tmp-1"), b"x").unwrap();
        let first = JobLock::acquire(&d, &["server"]).unwrap();
        assert_eq!(first.removed().len(), 1);
        assert!(!d.join("server/.state.hckpt.tmp-1").exists());
        // flock locks belong to the open file: a second open in this process conflicts like
        // another process would.
        let e = JobLock::acquire(&d, &["server"]).unwrap_err();
        assert!(matches!(e, FileError::Busy { .. }), "{e}");
        assert!(e.to_string().contains(".lock"), "{e}");
        drop(first);
        JobLock::acquire(&d, &["server"]).unwrap();
        std::fs::remove_dir_all(d).unwrap();
    }
}
