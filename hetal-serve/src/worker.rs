//! The training worker: one thread that takes queued jobs in turn and runs the protocol's
//! server session on each ([`ServerSession::advance`], every step checkpointed by it), waiting
//! for the client's answer file between epochs. Jobs that were queued, training or waiting
//! when the service stopped are queued again when it starts, and resume from their
//! checkpoints.

use crate::db::{Db, JobState};
use crate::files::{job_paths, FileName};
use hetal_train::protocol::keys::PublicBundle;
use hetal_train::protocol::server::{Outcome, ServerSession};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::time::Duration;

/// How often the worker looks for the client's answer.
const POLL: Duration = Duration::from_millis(200);

/// The queue's sending end.
pub struct Queue(std::sync::Mutex<Sender<String>>);

impl Queue {
    /// Queues job `id` for the worker.
    pub fn push(&self, id: &str) {
        // The worker lives as long as the service; a send can only fail after it panicked.
        let _ = self.0.lock().unwrap_or_else(|p| p.into_inner()).send(id.to_string());
    }
}

/// Starts `workers` worker threads (at least one) over `db` and the jobs under `jobs`; returns
/// the queue they share. Each training job at `bootstrap-n16` holds about 18 GB: more than one
/// worker needs the memory for as many jobs.
pub fn start(db: Arc<Db>, jobs: PathBuf, workers: usize) -> Queue {
    let (tx, rx) = std::sync::mpsc::channel();
    let rx = Arc::new(std::sync::Mutex::new(rx));
    for k in 0..workers.max(1) {
        let (db, jobs, rx) = (db.clone(), jobs.clone(), rx.clone());
        std::thread::Builder::new()
            .name(format!("hetal-worker-{k}"))
            .spawn(move || run(&db, &jobs, &rx))
            .expect("a thread can be started");
    }
    Queue(std::sync::Mutex::new(tx))
}

fn run(db: &Db, jobs: &std::path::Path, rx: &std::sync::Mutex<Receiver<String>>) {
    loop {
        // One worker waits on the queue at a time; the lock is released before training.
        let next = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
        let Ok(id) = next else { return };
        let dir = jobs.join(&id);
        match train(db, &id, &dir) {
            Ok(()) => {}
            Err(e) => {
                tracing::error!(job = %id, error = %e, "training failed");
                let _ = db.event(&id, "error", &e.to_string());
                let _ = db.set_state(&id, JobState::Failed);
            }
        }
    }
}

/// Trains job `id` in folder `dir` until the client says stop (or the job is deleted).
fn train(db: &Db, id: &str, dir: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let paths = job_paths(dir);
    let bundle = PublicBundle::read(&FileName::Bundle.path(dir))?;
    let resume = paths.checkpoint().exists();
    db.set_state(id, JobState::Training)?;
    let mut session = ServerSession::open(paths.0, bundle, resume)?;
    loop {
        match session.advance(None, &mut |_| {})? {
            Outcome::AwaitingAnswer { epoch, answer, .. } => {
                db.set_state(id, JobState::AwaitingAnswer)?;
                db.event(id, "validation", &format!("epoch {epoch}"))?;
                while !answer.exists() {
                    if db.job(id)?.is_none() {
                        return Ok(()); // deleted while waiting
                    }
                    std::thread::sleep(POLL);
                }
                db.set_state(id, JobState::Training)?;
            }
            Outcome::Finished { epoch, best_epoch, .. } => {
                db.event(id, "finished", &format!("after epoch {epoch}, model of epoch {best_epoch}"))?;
                db.set_state(id, JobState::Finished)?;
                return Ok(());
            }
            // Without a step limit the session does not pause; a new outcome is an error.
            _ => return Err("the server session stopped without an answer to wait for or a model".into()),
        }
    }
}
