//! Atomic, durable writes: a file is either its old complete self or its new complete self,
//! never a mix, a truncation or an empty file.
//!
//! Every write goes to a temporary file in the target's folder, named
//! `.<name>.tmp-<pid>-<counter>-<random>` and created with `O_CREAT | O_EXCL` (so a file or a
//! symbolic link planted at that name is never opened, never followed), with mode 0600 from
//! its creation on for private files. The content goes through a buffer that is flushed
//! explicitly, so the last write error (a full disk) is reported instead of lost when the
//! buffer is dropped. Then the file is synced, renamed over the target, and the folder is
//! synced so that the rename itself survives a crash. On any error the temporary file is
//! removed and the target is untouched.
//!
//! A process killed between creating and renaming leaves a temporary file behind;
//! [`remove_stale_temporaries`] removes them, and is called by whoever holds the job's lock
//! ([`super::JobLock`]), when no other writer can be at work.

use super::FileError;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// What every temporary name contains after the target's name.
pub const TEMP_MARKER: &str = ".tmp-";

/// Buffer of the writers: large, since bundles are gigabytes.
const BUFFER: usize = 1 << 20;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temporary name beside `path`: unique in this process by a counter, across processes by the
/// pid and 64 random bits (so it cannot be predicted and planted in advance).
fn temporary_name(dir: &Path, name: &str) -> PathBuf {
    let mut random = [0u8; 8];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut random);
    dir.join(format!(
        ".{name}{TEMP_MARKER}{}-{}-{:016x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        u64::from_le_bytes(random)
    ))
}

/// Creates a new temporary file beside `path` (never an existing file or link).
fn create_temporary(dir: &Path, name: &str, private: bool) -> std::io::Result<(PathBuf, std::fs::File)> {
    let mut last = None;
    for _ in 0..8 {
        let tmp = temporary_name(dir, name);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(if private { 0o600 } else { 0o644 });
        }
        match opts.open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no temporary name")))
}

/// Runs `fill` on a buffered `sink` and flushes the buffer, returning the sink: the flush's
/// error, which dropping a `BufWriter` would swallow, is the caller's.
pub fn fill_buffered<W: Write>(
    sink: W,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<W> {
    let mut w = BufWriter::with_capacity(BUFFER, sink);
    fill(&mut w)?;
    w.into_inner().map_err(std::io::IntoInnerError::into_error)
}

/// Syncs a folder, so that a rename or a removal in it is durable.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Writes `bytes` to `path` atomically (see the [module documentation](self)); with `private`
/// the file has mode 0600 from its creation on (Unix). Creates the folder if needed.
pub fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> Result<(), FileError> {
    write_atomic_with(path, private, |w| w.write_all(bytes))
}

/// [`write_atomic`] with the content written by `fill` into a buffered writer.
pub fn write_atomic_with(
    path: &Path,
    private: bool,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), FileError> {
    let io = |source| FileError::io(path, source);
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| FileError::format(path, "not a file name"))?.to_string_lossy();
    std::fs::create_dir_all(dir).map_err(io)?;
    let (tmp, file) = create_temporary(dir, &name, private).map_err(io)?;
    let result = (|| {
        let file = fill_buffered(file, fill)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

/// Removes the temporary files that interrupted writes left in `dir` (not recursively), and
/// returns their paths. Call it only while no other process writes there (holding the job's
/// lock).
pub fn remove_stale_temporaries(dir: &Path) -> Result<Vec<PathBuf>, FileError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(FileError::io(dir, e)),
    };
    let mut removed = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| FileError::io(dir, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let is_file = entry.file_type().map_err(|e| FileError::io(&entry.path(), e))?.is_file();
        if is_file && name.starts_with('.') && name.contains(TEMP_MARKER) {
            std::fs::remove_file(entry.path()).map_err(|e| FileError::io(&entry.path(), e))?;
            removed.push(entry.path());
        }
    }
    if !removed.is_empty() {
        sync_dir(dir).map_err(|e| FileError::io(dir, e))?;
    }
    Ok(removed)
}

/// Refuses to replace `path` unless `force`: nothing the user owns is overwritten silently.
pub fn refuse_overwrite(path: &Path, force: bool) -> Result<(), FileError> {
    if !force && std::fs::symlink_metadata(path).is_ok() {
        return Err(FileError::Exists { path: path.into() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn temp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("hetal-atomic-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// A sink that takes `room` bytes and then fails like a full disk.
    #[derive(Debug)]
    struct Full {
        room: usize,
    }

    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.room == 0 {
                return Err(std::io::Error::from_raw_os_error(28)); // ENOSPC
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_full_disk_at_the_final_flush_is_an_error() {
        // Less than the buffer: every write succeeds into it, and the disk is full only when
        // the buffer is flushed. Dropping a BufWriter would lose that error.
        let e = fill_buffered(Full { room: 100 }, |w| w.write_all(&[7; 1000])).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(28));
        assert!(fill_buffered(Full { room: 1000 }, |w| w.write_all(&[7; 1000])).is_ok());
    }

    #[test]
    fn failed_writes_keep_the_old_file_and_leave_no_temporary() {
        let d = temp("keep");
        let p = d.join("k.bin");
        write_atomic(&p, b"first", true).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let e = write_atomic_with(&p, true, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("interrupted"))
        })
        .unwrap_err();
        assert!(e.to_string().contains("k.bin") && e.to_string().contains("interrupted"), "{e}");
        assert_eq!(std::fs::read(&p).unwrap(), b"first");
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1, "a temporary file was left behind");
        // A path whose parent is a file cannot be written: the error names it.
        let e = write_atomic(&p.join("child"), b"x", false).unwrap_err();
        assert!(e.to_string().contains("child"), "{e}");
        std::fs::remove_dir_all(d).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn planted_temporaries_and_links_are_never_used() {
        use std::os::unix::fs::PermissionsExt;
        let d = temp("planted");
        let p = d.join("secret.hkey");
        let elsewhere = d.join("elsewhere");
        // An attacker plants world-writable files and links at the names an old build used.
        let planted = d.join(format!(".secret.hkey.tmp-{}", std::process::id()));
        std::fs::write(&planted, b"").unwrap();
        std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o666)).unwrap();
        std::os::unix::fs::symlink(&elsewhere, d.join(format!(".secret.hkey.tmp-{}-0", std::process::id()))).unwrap();
        write_atomic(&p, b"key", true).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(!elsewhere.exists(), "the link was followed");
        assert_eq!(std::fs::read(&planted).unwrap(), b"", "the planted file was written");
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn stale_temporaries_are_removed_and_nothing_else() {
        let d = temp("stale");
        std::fs::write(d.join(".report.json.tmp-123"), b"x").unwrap();
        std::fs::write(d.join(".validation-0001.hmat.tmp-9-0-00ff"), b"x").unwrap();
        std::fs::write(d.join("report.json"), b"{}").unwrap();
        std::fs::write(d.join(".hidden"), b"x").unwrap();
        let mut removed = remove_stale_temporaries(&d).unwrap();
        removed.sort();
        assert_eq!(removed.len(), 2, "{removed:?}");
        let mut left: Vec<_> = std::fs::read_dir(&d).unwrap().map(|e| e.unwrap().file_name()).collect();
        left.sort();
        assert_eq!(left, [".hidden", "report.json"]);
        assert!(remove_stale_temporaries(&d.join("missing")).unwrap().is_empty());
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn overwrites_need_force() {
        let d = temp("force");
        let p = d.join("model.npy");
        refuse_overwrite(&p, false).unwrap();
        std::fs::write(&p, b"mine").unwrap();
        assert!(matches!(refuse_overwrite(&p, false), Err(FileError::Exists { .. })));
        refuse_overwrite(&p, true).unwrap();
        std::fs::remove_dir_all(d).unwrap();
    }
}
