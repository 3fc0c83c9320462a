//! The client's side of the service (`hetal remote`): create a job and upload the public
//! bundle and the encrypted job in chunks, resuming where the server stopped after a dropped
//! connection or a crash of the client.
//!
//! The job's id and token are kept in the job directory's private folder
//! (`client/remote.json`, mode 0600), so that `submit` run again after a crash goes on with the
//! same job instead of creating another.

use hetal_train::protocol::job::{AnswerFile, JobManifest, JobPaths};
use hetal_train::protocol::task::{TaskShape, TrainPreset};
use hetal_train::store::{read_json, write_atomic_with, write_json, FileError};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Why a remote call failed.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The service answered with an error.
    #[error("{url}: HTTP {status}: {message}")]
    Status {
        /// The request.
        url: String,
        /// Its status code.
        status: u16,
        /// The service's message.
        message: String,
    },
    /// The service could not be reached or the connection broke.
    #[error("{url}: {message}")]
    Transport {
        /// The request.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// A local file.
    #[error(transparent)]
    File(#[from] FileError),
}

/// Where a job lives on a service: kept in `client/remote.json` (private).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RemoteJob {
    /// The service's base URL (`http://127.0.0.1:8750`).
    pub server: String,
    /// The job's id there.
    pub id: String,
    /// Its bearer token.
    pub token: String,
    /// A CA certificate (PEM) to trust for an `https` service with a certificate of its own
    /// (self-signed, a private CA); the public web roots otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<PathBuf>,
}

impl RemoteJob {
    /// `client/remote.json` of job directory `job`.
    pub fn path(job: &Path) -> PathBuf {
        JobPaths(job.into()).client().join("remote.json")
    }

    /// The remote job recorded for job directory `job`, or an error that says to submit it.
    pub fn require(job: &Path) -> Result<Self, Box<dyn std::error::Error>> {
        Ok(Self::load(job)?
            .ok_or_else(|| format!("{} has no remote job: run hetal remote submit first", job.display()))?)
    }

    /// The remote job recorded for job directory `job`, if any.
    pub fn load(job: &Path) -> Result<Option<Self>, FileError> {
        let p = Self::path(job);
        if p.exists() {
            read_json(&p, "remote job").map(Some)
        } else {
            Ok(None)
        }
    }
}

/// A service at a base URL.
pub struct Remote {
    base: String,
    agent: ureq::Agent,
}

/// The chunk size of uploads: 64 MB (the service accepts up to 256 MB by default).
pub const CHUNK: u64 = 64 << 20;

impl Remote {
    /// The service at `base` (`http://host:port` or `https://...`, no trailing slash needed);
    /// over `https`, certificates are checked against the public web roots.
    pub fn new(base: &str) -> Self {
        Self { base: base.trim_end_matches('/').to_string(), agent: Self::agent().build() }
    }

    /// The service at `base`, trusting the CA certificate(s) in the PEM file `ca` for `https`
    /// (a self-signed service certificate, or a private CA).
    pub fn with_ca(base: &str, ca: &Path) -> Result<Self, RemoteError> {
        use rustls::pki_types::{pem::PemObject, CertificateDer};
        let bad = |m: String| RemoteError::Transport { url: base.into(), message: format!("{}: {m}", ca.display()) };
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(ca).map_err(|e| bad(e.to_string()))? {
            roots.add(cert.map_err(|e| bad(e.to_string()))?).map_err(|e| bad(e.to_string()))?;
        }
        if roots.is_empty() {
            return Err(bad("no certificate in the file".into()));
        }
        let provider = std::sync::Arc::new(crate::tls_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| bad(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let agent = Self::agent().tls_config(std::sync::Arc::new(tls)).build();
        Ok(Self { base: base.trim_end_matches('/').to_string(), agent })
    }

    /// The remote of a recorded job: its server, with its CA certificate if it has one.
    pub fn of(job: &RemoteJob) -> Result<Self, RemoteError> {
        match &job.ca_cert {
            Some(ca) => Self::with_ca(&job.server, ca),
            None => Ok(Self::new(&job.server)),
        }
    }

    fn agent() -> ureq::AgentBuilder {
        ureq::AgentBuilder::new()
            .timeout_connect(std::time::Duration::from_secs(30))
            .timeout_read(std::time::Duration::from_secs(600))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request to `url` with `job`'s bearer token.
    fn authed(&self, method: &str, url: &str, job: &RemoteJob) -> ureq::Request {
        self.agent.request(method, url).set("Authorization", &format!("Bearer {}", job.token))
    }

    fn send(&self, url: &str, r: Result<ureq::Response, ureq::Error>) -> Result<serde_json::Value, RemoteError> {
        match r {
            Ok(resp) => {
                let text = resp
                    .into_string()
                    .map_err(|e| RemoteError::Transport { url: url.into(), message: e.to_string() })?;
                Ok(serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
            }
            Err(ureq::Error::Status(status, resp)) => {
                let body = resp.into_string().unwrap_or_default();
                let message = serde_json::from_str::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v["error"].as_str().map(String::from))
                    .unwrap_or(body);
                Err(RemoteError::Status { url: url.into(), status, message })
            }
            Err(e) => Err(RemoteError::Transport { url: url.into(), message: e.to_string() }),
        }
    }

    /// `POST /jobs`: a new job named `name` of `preset` and `task` (its uploads are checked
    /// against them); `admin`: the service's admin token, if it has one.
    pub fn create_job(
        &self,
        name: &str,
        (preset, task): (TrainPreset, &TaskShape),
        admin: Option<&str>,
    ) -> Result<RemoteJob, RemoteError> {
        let url = self.url("/jobs");
        let mut req = self.agent.post(&url);
        if let Some(a) = admin {
            req = req.set("Authorization", &format!("Bearer {a}"));
        }
        let body = serde_json::json!({ "name": name, "preset": preset, "task": task });
        let v = self.send(&url, req.send_json(body))?;
        let field = |k: &str| v[k].as_str().map(String::from);
        match (field("id"), field("token")) {
            (Some(id), Some(token)) => Ok(RemoteJob { server: self.base.clone(), id, token, ca_cert: None }),
            _ => Err(RemoteError::Transport { url, message: format!("unexpected answer {v}") }),
        }
    }

    /// `GET /jobs/{id}`: the job's state, files and events.
    pub fn status(&self, job: &RemoteJob) -> Result<serde_json::Value, RemoteError> {
        let url = self.url(&format!("/jobs/{}", job.id));
        self.send(&url, self.authed("GET", &url, job).call())
    }

    /// `POST /jobs/{id}/start`: queues the job for training.
    pub fn start(&self, job: &RemoteJob) -> Result<serde_json::Value, RemoteError> {
        let url = self.url(&format!("/jobs/{}/start", job.id));
        self.send(&url, self.authed("POST", &url, job).call())
    }

    /// `POST /jobs/{id}/answers/{epoch}`: the client's answer to an epoch.
    pub fn answer(&self, job: &RemoteJob, answer: &AnswerFile) -> Result<(), RemoteError> {
        let url = self.url(&format!("/jobs/{}/answers/{}", job.id, answer.epoch));
        let body = serde_json::to_value(answer)
            .map_err(|e| RemoteError::Transport { url: url.clone(), message: e.to_string() })?;
        self.send(&url, self.authed("POST", &url, job).send_json(body)).map(|_| ())
    }

    /// Downloads `route` of `job` (`validation/E`, `model`) to `to`, atomically (a broken
    /// download leaves no file); returns its size.
    pub fn download(&self, job: &RemoteJob, route: &str, to: &Path) -> Result<u64, RemoteError> {
        let url = self.url(&format!("/jobs/{}/{route}", job.id));
        let resp = match self.authed("GET", &url, job).call() {
            Ok(r) => r,
            Err(e) => return self.send(&url, Err(e)).map(|_| 0),
        };
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir).map_err(|e| FileError::io(dir, e))?;
        }
        let mut n = 0;
        write_atomic_with(to, false, |w| {
            n = std::io::copy(&mut resp.into_reader(), w)?;
            Ok(())
        })?;
        Ok(n)
    }

    /// Uploads `file` as `name` of `job`: asks the service how much it holds, sends the rest
    /// in chunks of `chunk` bytes, then asks it to check the file. `progress(sent, total)`
    /// hears each chunk. Returns the bytes sent in this call (0 if it was already there).
    pub fn upload(
        &self,
        job: &RemoteJob,
        name: &str,
        file: &Path,
        chunk: u64,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<u64, RemoteError> {
        let url = self.url(&format!("/jobs/{}/files/{name}", job.id));
        let state = self.send(&url, self.authed("GET", &url, job).call())?;
        let mut f = std::fs::File::open(file).map_err(|e| FileError::io(file, e))?;
        let total = f.metadata().map_err(|e| FileError::io(file, e))?.len();
        let mut sent = 0;
        if state["complete"].as_bool() != Some(true) {
            let mut offset = state["received"].as_u64().unwrap_or(0).min(total);
            f.seek(SeekFrom::Start(offset)).map_err(|e| FileError::io(file, e))?;
            let mut buf = vec![0u8; chunk.min(total.max(1)) as usize];
            while offset < total {
                let n = (total - offset).min(chunk) as usize;
                f.read_exact(&mut buf[..n]).map_err(|e| FileError::io(file, e))?;
                let put = format!("{url}?offset={offset}");
                self.send(&put, self.authed("PUT", &put, job).send_bytes(&buf[..n]))?;
                offset += n as u64;
                sent += n as u64;
                progress(offset, total);
            }
            let done = self.url(&format!("/jobs/{}/complete/{name}", job.id));
            self.send(&done, self.authed("POST", &done, job).call())?;
        }
        Ok(sent)
    }
}

/// `hetal remote submit`: creates a job on the service at `server` (trusting `ca_cert` for
/// `https`, if given; recorded with the job) (or takes the one recorded
/// in `job/client/remote.json`) and uploads the bundle and every file of job directory `job`,
/// each resumed where the service stopped. Records the job before the first byte is sent.
/// `progress(name, sent, total)` hears each chunk.
pub fn submit(
    server: &str,
    ca_cert: Option<&Path>,
    bundle: &Path,
    job: &Path,
    admin: Option<&str>,
    progress: &mut dyn FnMut(&str, u64, u64),
) -> Result<(RemoteJob, u64), RemoteError> {
    let manifest = JobManifest::read(job)?;
    let remote = match ca_cert {
        Some(ca) => Remote::with_ca(server, ca)?,
        None => Remote::new(server),
    };
    let rj = match RemoteJob::load(job)? {
        Some(rj) if rj.server == remote.base => rj,
        _ => {
            let name = job.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let mut rj = remote.create_job(&name, (manifest.preset, &manifest.task), admin)?;
            rj.ca_cert = ca_cert.map(Path::to_path_buf);
            write_json(&RemoteJob::path(job), &rj, true)?;
            rj
        }
    };
    let paths = JobPaths(job.into());
    let mut files = vec![
        ("job.json".to_string(), paths.manifest()),
        ("public.hbundle".to_string(), bundle.to_path_buf()),
        ("init.hmat".to_string(), paths.init()),
        ("val.hmat".to_string(), paths.val()),
    ];
    files.extend((0..manifest.batches).map(|k| (format!("batches/batch-{k:04}.hmat"), paths.batch(k))));
    let mut sent = 0;
    for (name, path) in &files {
        sent += remote.upload(&rj, name, path, CHUNK, &mut |s, t| progress(name, s, t))?;
    }
    Ok((rj, sent))
}

/// What [`run`] did at one moment, for progress displays.
#[derive(Debug)]
pub enum RunEvent<'a> {
    /// The job was queued for training.
    Started,
    /// The service's state, when it changes.
    State(&'a str),
    /// An epoch was answered.
    Answered(&'a AnswerFile),
    /// The encrypted model was downloaded to this file.
    Model(&'a Path),
}

/// `hetal remote run`: the client's half of the protocol against the service, until the model
/// is there. It starts the job if it is ready. Each epoch it downloads the validation outputs
/// into the local job directory, has `answer(epoch)` decrypt them and answer (the caller holds
/// the secret key: this crate never does), and posts the answer. In the end it downloads the
/// encrypted model to `job/server/model.hmat`, where `hetal decrypt model` reads it. Safe to
/// run again after a crash of the client: every step asks the service where it is.
pub fn run(
    job: &Path,
    poll: std::time::Duration,
    answer: &mut dyn FnMut(usize) -> Result<AnswerFile, Box<dyn std::error::Error>>,
    event: &mut dyn FnMut(RunEvent<'_>),
) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let rj = RemoteJob::require(job)?;
    let remote = Remote::of(&rj)?;
    let paths = JobPaths(job.into());
    let mut last = String::new();
    loop {
        let st = remote.status(&rj)?;
        let state = st["job"]["state"].as_str().unwrap_or("").to_string();
        if state != last {
            event(RunEvent::State(&state));
            last.clone_from(&state);
        }
        match state.as_str() {
            "ready" => {
                remote.start(&rj)?;
                event(RunEvent::Started);
            }
            "awaiting_answer" => {
                if let Some(e) = st["training"]["awaiting_epoch"].as_u64() {
                    let e = e as usize;
                    remote.download(&rj, &format!("validation/{e}"), &paths.validation(e))?;
                    let a = answer(e)?;
                    remote.answer(&rj, &a)?;
                    event(RunEvent::Answered(&a));
                    continue;
                }
                std::thread::sleep(poll);
            }
            "finished" => {
                let to = paths.model();
                remote.download(&rj, "model", &to)?;
                event(RunEvent::Model(&to));
                return Ok(to);
            }
            "failed" => {
                let why = st["events"]
                    .as_array()
                    .and_then(|ev| ev.iter().rev().find(|e| e["kind"] == "error"))
                    .and_then(|e| e["detail"].as_str())
                    .unwrap_or("no detail");
                return Err(format!("training failed on the service: {why}").into());
            }
            "uploading" => return Err("the job is not complete on the service: run hetal remote submit".into()),
            _ => std::thread::sleep(poll),
        }
    }
}
