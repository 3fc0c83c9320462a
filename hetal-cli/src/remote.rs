//! `hetal remote`: the client's side of `hetal serve` ([`hetal_serve::submit`]).

use crate::global::Global;
use crate::progress::Progress;
use hetal_serve::RunEvent;
use hetal_train::protocol::client::answer_validation;
use hetal_train::protocol::keys::SecretKeyFile;
use std::io::Write;
use std::path::PathBuf;

/// Options of `hetal remote`.
#[derive(Debug, clap::Args)]
pub struct RemoteArgs {
    #[command(subcommand)]
    pub command: RemoteCommand,
}

/// What `hetal remote` does.
#[derive(Debug, clap::Subcommand)]
pub enum RemoteCommand {
    /// Creates a job on the service and uploads the public bundle and the encrypted job, in
    /// chunks; run it again after an interruption and it resumes (the job's id and token are
    /// kept in JOB/client/remote.json, mode 0600).
    #[command(
        after_help = "Example:\n  hetal remote submit --server http://127.0.0.1:8750 --keys keys/public.hbundle --job job"
    )]
    Submit {
        /// The service's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8750")]
        server: String,
        /// The public bundle (from `hetal keygen`).
        #[arg(long, default_value = "keys/public.hbundle")]
        keys: PathBuf,
        /// The job directory (from `hetal encrypt`); its client/ folder is never sent.
        #[arg(long, default_value = "job")]
        job: PathBuf,
        /// A file holding the service's admin token, if it asks for one.
        #[arg(long)]
        admin_token_file: Option<PathBuf>,
        /// A CA certificate (PEM) to trust for an https service with its own certificate
        /// (recorded with the job for the other remote commands).
        #[arg(long)]
        ca_cert: Option<PathBuf>,
    },
    /// Keeps the client's half of the protocol going against the service: starts the job,
    /// decrypts each epoch's validation outputs and answers continue or stop, until the model
    /// is downloaded to JOB/server/model.hmat (then `hetal decrypt model`). Safe to run again
    /// after an interruption.
    #[command(
        after_help = "Example:\n  hetal remote run --job job --secret-key keys/secret.hkey && hetal decrypt model --job job"
    )]
    Run {
        /// The job directory that `hetal remote submit` sent.
        #[arg(long, default_value = "job")]
        job: PathBuf,
        /// The client's secret key (never sent).
        #[arg(long, default_value = "keys/secret.hkey")]
        secret_key: PathBuf,
        /// Seconds between looks at the service's state.
        #[arg(long, default_value_t = 1.0)]
        poll: f64,
    },
    /// Downloads the encrypted model to JOB/server/model.hmat once training has finished
    /// (`hetal remote run` does this at its end); then `hetal decrypt model`.
    Fetch {
        /// The job directory that `hetal remote submit` sent.
        #[arg(long, default_value = "job")]
        job: PathBuf,
    },
    /// The job's state, files and events on the service.
    Status {
        /// The job directory that `hetal remote submit` sent.
        #[arg(long, default_value = "job")]
        job: PathBuf,
    },
}

/// Runs `hetal remote`.
pub fn run(args: &RemoteArgs, g: &Global, out: &mut dyn Write) -> Result<(), Box<dyn std::error::Error>> {
    match &args.command {
        RemoteCommand::Submit { server, keys, job, admin_token_file, ca_cert } => {
            let admin = admin_token_file
                .as_ref()
                .map(|p| {
                    std::fs::read_to_string(p)
                        .map(|t| t.trim().to_string())
                        .map_err(|e| format!("{}: {e}", p.display()))
                })
                .transpose()?;
            let mut bar: Option<(String, Progress)> = None;
            let (rj, sent) = hetal_serve::submit(
                server,
                ca_cert.as_deref(),
                keys,
                job,
                admin.as_deref(),
                &mut |name, done, total| {
                    if bar.as_ref().is_none_or(|(n, _)| n != name) {
                        if let Some((_, b)) = bar.take() {
                            b.finish();
                        }
                        bar = Some((name.to_string(), Progress::bar(g, total, &format!("upload {name}"))));
                    }
                    if let Some((_, b)) = &bar {
                        b.set(done);
                    }
                },
            )?;
            if let Some((_, b)) = bar.take() {
                b.finish();
            }
            let state = hetal_serve::Remote::of(&rj)?.status(&rj)?;
            if g.json {
                writeln!(out, "{}", serde_json::json!({ "id": rj.id, "sent_bytes": sent, "status": state }))?;
            } else {
                writeln!(
                    out,
                    "job {} on {}: {} bytes sent, state {} (id and token in {})",
                    rj.id,
                    rj.server,
                    sent,
                    state["job"]["state"].as_str().unwrap_or("?"),
                    hetal_serve::RemoteJob::path(job).display()
                )?;
            }
        }
        RemoteCommand::Run { job, secret_key, poll } => {
            if !(poll.is_finite() && *poll > 0.0 && *poll <= 3600.0) {
                return Err(format!("--poll {poll}: seconds in (0, 3600]").into());
            }
            let key = SecretKeyFile::read(secret_key)?;
            let model = hetal_serve::run(
                job,
                std::time::Duration::from_secs_f64(*poll),
                &mut |epoch| Ok(answer_validation(job, &key, secret_key, Some(epoch))?.answer),
                &mut |e| {
                    if g.text() {
                        let _ = match e {
                            RunEvent::Started => writeln!(out, "job started"),
                            RunEvent::State(s) => writeln!(out, "state: {s}"),
                            RunEvent::Answered(a) => writeln!(out, "epoch {}: answered {}", a.epoch, a.decision),
                            RunEvent::Model(p) => writeln!(out, "encrypted model -> {}", p.display()),
                        };
                    }
                },
            )?;
            if g.json {
                writeln!(out, "{}", serde_json::json!({ "model": model }))?;
            } else {
                writeln!(out, "done: hetal decrypt model --job {} decrypts it", job.display())?;
            }
        }
        RemoteCommand::Fetch { job } => {
            let rj = hetal_serve::RemoteJob::require(job)?;
            let to = hetal_train::protocol::job::JobPaths(job.clone()).model();
            let n = hetal_serve::Remote::of(&rj)?.download(&rj, "model", &to)?;
            writeln!(
                out,
                "encrypted model ({n} bytes) -> {}; hetal decrypt model --job {} decrypts it",
                to.display(),
                job.display()
            )?;
        }
        RemoteCommand::Status { job } => {
            let rj = hetal_serve::RemoteJob::require(job)?;
            let state = hetal_serve::Remote::of(&rj)?.status(&rj)?;
            writeln!(out, "{}", serde_json::to_string_pretty(&state)?)?;
        }
    }
    Ok(())
}
