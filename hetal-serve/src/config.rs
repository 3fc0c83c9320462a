//! The service's settings.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Size limits of uploads, per kind of file, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The public bundle (`public.hbundle`): 4-8 GB at `bootstrap-n16`.
    pub bundle: u64,
    /// One file of encrypted matrices (`init.hmat`, `val.hmat`, a batch).
    pub matrices: u64,
    /// The job manifest (`job.json`).
    pub manifest: u64,
    /// One request's body (one chunk of an upload).
    pub chunk: u64,
}

impl Default for Limits {
    /// 16 GB per bundle, 4 GB per matrices file, 1 MB per manifest, 256 MB per chunk.
    fn default() -> Self {
        Self { bundle: 16 << 30, matrices: 4 << 30, manifest: 1 << 20, chunk: 256 << 20 }
    }
}

/// The settings of `hetal serve`.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// The address to listen on (loopback unless `insecure_http`).
    pub listen: SocketAddr,
    /// The folder of the database (`hetal-serve.sqlite3`) and the per-job folders (`jobs/ID/`).
    pub data_dir: PathBuf,
    /// If set, creating a job needs this bearer token.
    pub admin_token: Option<String>,
    /// Allow plain HTTP on an address other than loopback (TLS needs no such permission).
    pub insecure_http: bool,
    /// Upload size limits.
    pub limits: Limits,
    /// Jobs trained at once at most (default 1). Each job at `bootstrap-n16` holds about 14 GB at
    /// the Face Mask shape (11 GB at `bootstrap-n16-compact`; measured over two steps):
    /// a second one starts only when its estimate fits in `memory_limit` beside the others'.
    pub workers: usize,
    /// Bytes of memory the jobs in training may take together, by their estimates
    /// ([`hetal_train::protocol::memory::server_memory_estimate`]); `None`: the machine's
    /// memory (`MemTotal` of `/proc/meminfo`). A job alone always runs.
    pub memory_limit: Option<u64>,
    /// Serve HTTPS with this certificate and key (PEM); plain HTTP when `None`.
    pub tls: Option<TlsFiles>,
}

/// A TLS certificate chain and its private key, PEM files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain.
    pub cert: PathBuf,
    /// The private key.
    pub key: PathBuf,
}

impl ServeConfig {
    /// Settings with no admin token, loopback only, plain HTTP, the default limits, one worker
    /// and the machine's memory as the budget.
    pub fn new(listen: SocketAddr, data_dir: PathBuf) -> Self {
        Self {
            listen,
            data_dir,
            admin_token: None,
            insecure_http: false,
            limits: Limits::default(),
            workers: 1,
            memory_limit: None,
            tls: None,
        }
    }

    /// The memory budget of training: `memory_limit`, or the machine's memory, or no bound
    /// where neither is known.
    pub fn memory_budget(&self) -> u64 {
        self.memory_limit.or_else(hetal_train::protocol::memory::total_memory).unwrap_or(u64::MAX)
    }
}
