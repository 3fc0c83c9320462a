//! The training workers: threads that take queued jobs in turn and run the protocol's server
//! session on each ([`ServerSession::advance`], every step checkpointed by it), waiting for
//! the client's answer file between epochs. Jobs that were queued, training or waiting when
//! the service stopped are queued again when it starts, and resume from their checkpoints.
//!
//! With more than one worker, memory bounds them: a job starts only when its estimate
//! ([`job_memory_estimate`]) fits in the budget beside the estimates of the jobs in
//! training. A job alone always starts.

use crate::db::{Db, JobState};
use crate::files::{job_paths, FileName};
use hetal_train::protocol::job::JobManifest;
use hetal_train::protocol::keys::PublicBundle;
use hetal_train::protocol::memory::job_memory_estimate;
use hetal_train::protocol::server::{Outcome, ServerSession};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
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

/// The memory of the jobs in training, by their estimates, against a budget.
pub struct MemoryBudget {
    limit: u64,
    /// Bytes reserved and jobs holding them.
    held: Mutex<(u64, usize)>,
    freed: Condvar,
}

/// Memory reserved for one job; given back when dropped.
pub struct Reservation<'a> {
    budget: &'a MemoryBudget,
    bytes: u64,
}

impl MemoryBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: u64) -> Self {
        Self { limit, held: Mutex::new((0, 0)), freed: Condvar::new() }
    }

    /// Whether `bytes` more fit now (a job alone always fits); `(bytes held, jobs)` otherwise.
    pub fn fits(&self, bytes: u64) -> Result<(), (u64, usize)> {
        let held = *self.held.lock().unwrap_or_else(|p| p.into_inner());
        if held.1 == 0 || held.0.saturating_add(bytes) <= self.limit {
            Ok(())
        } else {
            Err(held)
        }
    }

    /// Reserves `bytes`, waiting until they fit beside the reservations held (at once if
    /// none is held).
    pub fn reserve(&self, bytes: u64) -> Reservation<'_> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        while held.1 > 0 && held.0.saturating_add(bytes) > self.limit {
            held = self.freed.wait(held).unwrap_or_else(|p| p.into_inner());
        }
        held.0 = held.0.saturating_add(bytes);
        held.1 += 1;
        Reservation { budget: self, bytes }
    }

    /// The budget in bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        let mut held = self.budget.held.lock().unwrap_or_else(|p| p.into_inner());
        held.0 -= self.bytes;
        held.1 -= 1;
        self.budget.freed.notify_all();
    }
}

/// The memory job folder `dir` will need in training ([`job_memory_estimate`]), from its
/// manifest and the sizes of its bundle and initial weights; `None` before they are uploaded.
pub fn memory_estimate(dir: &Path) -> Option<u64> {
    let paths = job_paths(dir);
    let manifest = JobManifest::read(&paths.0).ok()?;
    job_memory_estimate(&manifest, &FileName::Bundle.path(dir), &paths.init())
}

fn gb(bytes: u64) -> String {
    format!("{:.1} GB", bytes as f64 / 1e9)
}

/// Starts `workers` worker threads (at least one) over `db` and the jobs under `jobs`, which
/// train together only as far as `memory` allows; returns the queue they share.
pub fn start(db: Arc<Db>, jobs: PathBuf, workers: usize, memory: u64) -> Queue {
    let (tx, rx) = std::sync::mpsc::channel();
    let rx = Arc::new(Mutex::new(rx));
    let budget = Arc::new(MemoryBudget::new(memory));
    for k in 0..workers.max(1) {
        let (db, jobs, rx, budget) = (db.clone(), jobs.clone(), rx.clone(), budget.clone());
        std::thread::Builder::new()
            .name(format!("hetal-worker-{k}"))
            .spawn(move || run(&db, &jobs, &rx, &budget))
            .expect("a thread can be started");
    }
    Queue(Mutex::new(tx))
}

fn run(db: &Db, jobs: &Path, rx: &Mutex<Receiver<String>>, budget: &MemoryBudget) {
    loop {
        // One worker waits on the queue at a time; the lock is released before training.
        let next = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
        let Ok(id) = next else { return };
        let dir = jobs.join(&id);
        // Unknown (files missing): the session's own error says which when it opens.
        let need = memory_estimate(&dir).unwrap_or(0);
        if need > budget.limit() {
            tracing::warn!(job = %id, need, limit = budget.limit(), "the job's estimate exceeds the memory budget: it trains alone");
            let _ = db.event(
                &id,
                "memory",
                &format!("needs about {}, more than the budget of {}: it trains alone", gb(need), gb(budget.limit())),
            );
        }
        if let Err((held, jobs)) = budget.fits(need) {
            tracing::info!(job = %id, need, held, jobs, "waiting for memory");
            let _ = db.event(
                &id,
                "memory",
                &format!(
                    "waiting: needs about {}, and {} of the budget of {} is held by {jobs} job(s) in training",
                    gb(need),
                    gb(held),
                    gb(budget.limit())
                ),
            );
        }
        let _reservation = budget.reserve(need);
        if !matches!(db.job(&id), Ok(Some(_))) {
            continue; // deleted while it waited
        }
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
fn train(db: &Db, id: &str, dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Reservations wait until they fit beside the others; a job alone always fits.
    #[test]
    fn the_budget_admits_what_fits() {
        let budget = Arc::new(MemoryBudget::new(10));
        let a = budget.reserve(6);
        assert_eq!(budget.fits(4), Ok(()));
        assert_eq!(budget.fits(5), Err((6, 1)));
        let (tx, rx) = std::sync::mpsc::channel();
        let b = budget.clone();
        let waiter = std::thread::spawn(move || {
            let _r = b.reserve(5);
            tx.send(()).unwrap();
        });
        assert!(rx.recv_timeout(Duration::from_millis(200)).is_err(), "5 more do not fit beside 6 of 10");
        drop(a);
        rx.recv_timeout(Duration::from_secs(10)).expect("it starts once the first is done");
        waiter.join().unwrap();
        let alone = budget.reserve(100);
        assert_eq!(budget.fits(1), Err((100, 1)), "over the budget, alone");
        drop(alone);
        assert_eq!(budget.fits(100), Ok(()));
    }
}
