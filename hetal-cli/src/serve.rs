//! `hetal serve`: the server role as an HTTP service ([`hetal_serve`]): jobs, resumable
//! uploads checked against the container format, bearer tokens, SQLite job state.

use crate::global::Global;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Options of `hetal serve`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  hetal serve                                   # 127.0.0.1:8750, data in ./serve-data\n  hetal serve --listen 127.0.0.1:9000 --data-dir /srv/hetal --admin-token-file admin.token"
)]
pub struct ServeArgs {
    /// Address to listen on. Beyond loopback it needs --tls-cert and --tls-key (or a TLS proxy in
    /// front and --insecure-http).
    #[arg(long, default_value = "127.0.0.1:8750")]
    pub listen: SocketAddr,
    /// Folder of the job database and the jobs' files (created if missing).
    #[arg(long, default_value = "serve-data")]
    pub data_dir: PathBuf,
    /// A file holding the admin token that creating a job needs (without it anyone who can
    /// reach the service may create jobs).
    #[arg(long)]
    pub admin_token_file: Option<PathBuf>,
    /// Serve plain HTTP on an address other than loopback (tokens then cross the network in
    /// the clear).
    #[arg(long)]
    pub insecure_http: bool,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Jobs trained at once at most. Each job at bootstrap-n16-compact needs about 11 GB of
    /// memory at the Face Mask shape (14 GB at bootstrap-n16; measured over an epoch):
    /// a second one starts only when its estimate fits in --memory-limit beside the others'.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub workers: u16,
    /// Memory the jobs in training may take together, in GB (10^9 bytes), by their estimates
    /// (the job status shows each one's); the machine's memory by default. A job alone always
    /// runs.
    #[arg(long, value_parser = parse_gb)]
    pub memory_limit: Option<u64>,
}

/// A positive number of GB (10^9 bytes), as bytes.
fn parse_gb(s: &str) -> Result<u64, String> {
    match s.parse::<f64>() {
        Ok(gb) if gb > 0.0 && gb < 1e9 => Ok((gb * 1e9) as u64),
        _ => Err(format!("'{s}' is not a positive number of GB (such as 40 or 2.5)")),
    }
}

/// Runs `hetal serve` until Ctrl-C.
pub fn run(args: &ServeArgs, g: &Global, out: &mut dyn Write) -> Result<(), Box<dyn std::error::Error>> {
    let mut config = hetal_serve::ServeConfig::new(args.listen, args.data_dir.clone());
    config.insecure_http = args.insecure_http;
    config.workers = usize::from(args.workers);
    config.memory_limit = args.memory_limit;
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        config.tls = Some(hetal_serve::TlsFiles { cert: cert.clone(), key: key.clone() });
    }
    if let Some(p) = &args.admin_token_file {
        let t = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
        let t = t.trim();
        if t.len() < 16 {
            return Err(
                format!("{}: an admin token has at least 16 characters (found {})", p.display(), t.len()).into()
            );
        }
        config.admin_token = Some(t.to_string());
    }
    if g.text() {
        let scheme = if config.tls.is_some() { "https" } else { "http" };
        writeln!(
            out,
            "hetal serve on {scheme}://{} (data in {}, {} worker(s), memory budget {:.1} GB); Ctrl-C stops it",
            args.listen,
            args.data_dir.display(),
            config.workers,
            config.memory_budget() as f64 / 1e9
        )?;
    }
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(hetal_serve::serve(config))?;
    Ok(())
}
