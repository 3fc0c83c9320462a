//! The files a job may hold, by the names clients upload them under, and where they live.
//!
//! A job's folder `jobs/ID/` mirrors what the command line uses: `keys/public.hbundle` and the
//! job directory `job/` (`job.json`, `init.hmat`, `val.hmat`, `batches/batch-NNNN.hmat`), so
//! that the protocol library ([`hetal_train::protocol`]) runs on it unchanged.

use crate::config::Limits;
use hetal_train::protocol::job::JobPaths;
use std::path::{Path, PathBuf};

/// The job directory inside job folder `dir` (what `hetal train --job` and the protocol's
/// server session take).
pub fn job_paths(dir: &Path) -> JobPaths {
    JobPaths(dir.join("job"))
}

/// A file of a job, by its upload name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileName {
    /// `public.hbundle`: the public bundle (evaluation and bootstrapping keys).
    Bundle,
    /// `job.json`: the job manifest.
    Manifest,
    /// `init.hmat`: the encrypted initial weights.
    Init,
    /// `val.hmat`: the encrypted validation features.
    Validation,
    /// `batches/batch-NNNN.hmat`: one encrypted training batch.
    Batch(usize),
}

/// The most batches a job may have (a name with a larger index is refused).
const MAX_BATCHES: usize = 100_000;

impl FileName {
    /// Reads an upload name; `None` for any other (no paths of the client's choosing).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "public.hbundle" => Some(Self::Bundle),
            "job.json" => Some(Self::Manifest),
            "init.hmat" => Some(Self::Init),
            "val.hmat" => Some(Self::Validation),
            _ => {
                let k = name.strip_prefix("batches/batch-")?.strip_suffix(".hmat")?;
                let ok = k.len() == 4 && k.bytes().all(|b| b.is_ascii_digit());
                ok.then(|| k.parse().ok()).flatten().filter(|&k| k < MAX_BATCHES).map(Self::Batch)
            }
        }
    }

    /// The upload name.
    pub fn name(self) -> String {
        match self {
            Self::Bundle => "public.hbundle".into(),
            Self::Manifest => "job.json".into(),
            Self::Init => "init.hmat".into(),
            Self::Validation => "val.hmat".into(),
            Self::Batch(k) => format!("batches/batch-{k:04}.hmat"),
        }
    }

    /// Where it lives in the job folder `dir`.
    pub fn path(self, dir: &Path) -> PathBuf {
        match self {
            Self::Bundle => dir.join("keys").join("public.hbundle"),
            other => job_paths(dir).0.join(other.name()),
        }
    }

    /// The partial upload beside it.
    pub fn part_path(self, dir: &Path) -> PathBuf {
        let mut p = self.path(dir).into_os_string();
        p.push(".part");
        p.into()
    }

    /// The largest upload of this file.
    pub fn limit(self, limits: &Limits) -> u64 {
        match self {
            Self::Bundle => limits.bundle,
            Self::Manifest => limits.manifest,
            _ => limits.matrices,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_job_files_are_names() {
        for n in [
            "public.hbundle",
            "job.json",
            "init.hmat",
            "val.hmat",
            "batches/batch-0000.hmat",
            "batches/batch-0042.hmat",
        ] {
            assert_eq!(FileName::parse(n).map(FileName::name).as_deref(), Some(n));
        }
        for n in [
            "",
            "secret.hkey",
            "../job.json",
            "batches/batch-1.hmat",
            "batches/batch-00001.hmat",
            "batches/batch-+001.hmat",
            "batches/../../x.hmat",
            "job/job.json",
        ] {
            assert_eq!(FileName::parse(n), None, "{n}");
        }
        let dir = Path::new("/d");
        assert_eq!(FileName::Bundle.path(dir), Path::new("/d/keys/public.hbundle"));
        assert_eq!(FileName::Batch(3).part_path(dir), Path::new("/d/job/batches/batch-0003.hmat.part"));
    }
}
