//! Exit codes of `hetal`, one per kind of failure, so that scripts can tell what to do.
//!
//! | code | meaning | what to do |
//! |---|---|---|
//! | 0 | success | |
//! | 1 | any other failure (a bug, an unexpected state) | report it |
//! | 2 | the command line is wrong (clap's usage errors) | read `--help` |
//! | 3 | bad input: data, settings, a protocol step out of order, an output that exists without `--force` | fix the input |
//! | 4 | keys, job and parameters that do not belong together (another key, job, task or preset) | use the matching files |
//! | 5 | a corrupt, truncated or oversized file | make the file again |
//! | 6 | I/O: a missing file, a full disk, no permission, a locked job | fix the file system, or wait |

use hetal_train::data::DataError;
use hetal_train::encrypted::EncryptedTrainError;
use hetal_train::plain::TrainError;
use hetal_train::protocol::ProtocolError;
use hetal_train::store::FileError;
use std::error::Error;

/// Bad input: data, settings, a protocol step out of order.
pub const BAD_INPUT: u8 = 3;
/// Keys, job and parameters that do not belong together.
pub const MISMATCH: u8 = 4;
/// A corrupt, truncated or oversized file.
pub const CORRUPT: u8 = 5;
/// I/O: a missing file, a full disk, no permission, a locked job.
pub const IO: u8 = 6;

/// A command's own refusal of its input: options that do not go together, data that does not
/// fit the job. Exit code [`BAD_INPUT`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

fn of_file(e: &FileError) -> u8 {
    match e {
        FileError::Io { .. } | FileError::Busy { .. } => IO,
        FileError::Exists { .. } => BAD_INPUT,
        FileError::Mismatch { .. } | FileError::Kind { .. } => MISMATCH,
        _ => CORRUPT,
    }
}

/// The exit code of an error: the kind of the first error in its chain that has one.
pub fn code(e: &(dyn Error + 'static)) -> u8 {
    let mut cur: Option<&(dyn Error + 'static)> = Some(e);
    while let Some(e) = cur {
        if let Some(f) = e.downcast_ref::<FileError>() {
            return of_file(f);
        }
        // `#[error(transparent)]` wrappers forward `source()` past the error they wrap, so the
        // wrapped file errors are matched here by hand.
        match e.downcast_ref::<EncryptedTrainError>() {
            Some(EncryptedTrainError::File(f)) => return of_file(f),
            // A setting that does not fit the task (a batch without a compact form, say).
            Some(EncryptedTrainError::Config { .. }) => return BAD_INPUT,
            _ => {}
        }
        if let Some(p) = e.downcast_ref::<ProtocolError>() {
            match p {
                ProtocolError::File(f) | ProtocolError::Train(EncryptedTrainError::File(f)) => return of_file(f),
                ProtocolError::Train(EncryptedTrainError::Config { .. }) => return BAD_INPUT,
                ProtocolError::Mismatch { .. } => return MISMATCH,
                ProtocolError::Data(_) | ProtocolError::Usage { .. } | ProtocolError::Plain(_) => return BAD_INPUT,
                _ => {}
            }
        }
        if e.downcast_ref::<DataError>().is_some()
            || e.downcast_ref::<TrainError>().is_some()
            || e.downcast_ref::<BadInput>().is_some()
        {
            return BAD_INPUT;
        }
        if e.downcast_ref::<std::io::Error>().is_some() {
            return IO;
        }
        cur = e.source();
    }
    1
}

#[cfg(test)]
mod tests {
    use super::*;
    use hetal_train::store::Fingerprint;
    use std::path::PathBuf;

    #[test]
    fn each_kind_has_its_code() {
        let p = PathBuf::from("f");
        let io = FileError::Io { path: p.clone(), source: std::io::Error::other("x") };
        assert_eq!(code(&io), IO);
        let m =
            FileError::Mismatch { path: p.clone(), what: "key", expected: Fingerprint::NONE, found: Fingerprint::NONE };
        assert_eq!(code(&ProtocolError::from(m)), MISMATCH);
        assert_eq!(code(&FileError::format(&p, "checksum mismatch")), CORRUPT);
        let ckpt = EncryptedTrainError::File(FileError::format(&p, "checksum mismatch"));
        assert_eq!(code(&ProtocolError::from(ckpt)), CORRUPT, "a checkpoint's file error under two wrappers");
        assert_eq!(code(&ProtocolError::usage("out of order")), BAD_INPUT);
        assert_eq!(code(&BadInput("--out x.json".into())), BAD_INPUT);
        let misfit = EncryptedTrainError::config("the compact softmax does not fit batch 16 with 10 classes");
        assert_eq!(code(&misfit), BAD_INPUT);
        assert_eq!(code(&ProtocolError::from(misfit)), BAD_INPUT, "a setting that does not fit, wrapped");
        let boxed: Box<dyn Error> = "plain message".into();
        assert_eq!(code(boxed.as_ref()), 1);
    }
}
