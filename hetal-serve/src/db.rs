//! The service's state in SQLite: jobs and their states, token hashes, and an event log.
//! Files stay in per-job folders; the database says what they are.

use hetal_train::protocol::task::{TaskShape, TrainPreset};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The schema version this build writes and reads. Version 1 (no declared preset and task)
/// is migrated on open.
const SCHEMA_VERSION: i64 = 2;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    preset TEXT NOT NULL DEFAULT '',
    task TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS tokens (
    hash TEXT PRIMARY KEY,
    job TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job TEXT NOT NULL,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL
);
";

/// Where a job is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Created; its files are being uploaded.
    Uploading,
    /// Its bundle and job are uploaded and checked.
    Ready,
    /// Waiting for the worker.
    Queued,
    /// The worker is training it.
    Training,
    /// An epoch is done; its validation outputs wait for the client's answer.
    AwaitingAnswer,
    /// The client said stop (or the epoch limit was reached): the model is there.
    Finished,
    /// Training stopped on an error (the event log says which); it can be started again.
    Failed,
}

impl JobState {
    /// The name stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Uploading => "uploading",
            Self::Ready => "ready",
            Self::Queued => "queued",
            Self::Training => "training",
            Self::AwaitingAnswer => "awaiting_answer",
            Self::Finished => "finished",
            Self::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "uploading" => Some(Self::Uploading),
            "ready" => Some(Self::Ready),
            "queued" => Some(Self::Queued),
            "training" => Some(Self::Training),
            "awaiting_answer" => Some(Self::AwaitingAnswer),
            "finished" => Some(Self::Finished),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// One job's row.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct JobRow {
    /// Its id (24 hexadecimal digits).
    pub id: String,
    /// The client's label for it.
    pub name: String,
    /// The preset declared when it was created (`None` for a job of schema version 1).
    pub preset: Option<TrainPreset>,
    /// The task shape declared when it was created (`None` for a job of schema version 1).
    pub task: Option<TaskShape>,
    /// Its state.
    pub state: JobState,
    /// Creation time, seconds since the Unix epoch.
    pub created: i64,
    /// Last change, seconds since the Unix epoch.
    pub updated: i64,
}

/// The database: one connection behind a mutex (requests touch it for microseconds).
pub struct Db {
    conn: Mutex<Connection>,
    path: PathBuf,
}

/// Seconds since the Unix epoch.
fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

impl Db {
    /// Opens (or creates) the database at `path`; refuses one of another schema version.
    pub fn open(path: &Path) -> Result<Self, crate::ServeError> {
        let err = |source| crate::ServeError::Db { path: path.into(), source };
        let conn = Connection::open(path).map_err(err)?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;")
            .map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        let found: Option<String> =
            conn.query_row("SELECT value FROM meta WHERE key = 'schema'", [], |r| r.get(0)).optional().map_err(err)?;
        match found {
            None => {
                conn.execute("INSERT INTO meta (key, value) VALUES ('schema', ?1)", [SCHEMA_VERSION.to_string()])
                    .map_err(err)?;
            }
            Some(v) if v == SCHEMA_VERSION.to_string() => {}
            Some(v) if v == "1" => {
                // Jobs of version 1 declared no preset or task: they keep empty ones.
                conn.execute_batch(
                    "BEGIN; ALTER TABLE jobs ADD COLUMN preset TEXT NOT NULL DEFAULT ''; \
                     ALTER TABLE jobs ADD COLUMN task TEXT NOT NULL DEFAULT ''; \
                     UPDATE meta SET value = '2' WHERE key = 'schema'; COMMIT;",
                )
                .map_err(err)?;
            }
            Some(v) => {
                return Err(err(rusqlite::Error::InvalidParameterName(format!(
                    "schema version {v}, this build reads version {SCHEMA_VERSION}"
                ))))
            }
        }
        Ok(Self { conn: Mutex::new(conn), path: path.into() })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (each call is one statement
        // or one transaction), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a new job of `preset` and `task` with the hash of its token, in one
    /// transaction.
    pub fn create_job(
        &self,
        id: &str,
        name: &str,
        (preset, task): (TrainPreset, &TaskShape),
        token_hash: &str,
    ) -> rusqlite::Result<JobRow> {
        let t = now();
        let task_json = serde_json::to_string(task).expect("a task shape serialises");
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO jobs (id, name, state, created, updated, preset, task) VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6)",
            params![id, name, JobState::Uploading.as_str(), t, preset.name(), task_json],
        )?;
        tx.execute("INSERT INTO tokens (hash, job) VALUES (?1, ?2)", params![token_hash, id])?;
        tx.execute("INSERT INTO events (job, at, kind, detail) VALUES (?1, ?2, 'created', ?3)", params![id, t, name])?;
        tx.commit()?;
        Ok(JobRow {
            id: id.into(),
            name: name.into(),
            preset: Some(preset),
            task: Some(task.clone()),
            state: JobState::Uploading,
            created: t,
            updated: t,
        })
    }

    /// The job that the token with this hash opens, if any.
    pub fn job_of_token(&self, token_hash: &str) -> rusqlite::Result<Option<String>> {
        self.conn().query_row("SELECT job FROM tokens WHERE hash = ?1", [token_hash], |r| r.get(0)).optional()
    }

    /// The job `id`.
    pub fn job(&self, id: &str) -> rusqlite::Result<Option<JobRow>> {
        self.conn()
            .query_row("SELECT id, name, state, created, updated, preset, task FROM jobs WHERE id = ?1", [id], |r| {
                let bad = |col: usize, what: String| {
                    rusqlite::Error::FromSqlConversionFailure(col, rusqlite::types::Type::Text, what.into())
                };
                let state: String = r.get(2)?;
                let (preset, task): (String, String) = (r.get(5)?, r.get(6)?);
                Ok(JobRow {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    preset: match preset.as_str() {
                        "" => None,
                        p => Some(TrainPreset::from_name(p).ok_or_else(|| bad(5, format!("unknown preset '{p}'")))?),
                    },
                    task: match task.as_str() {
                        "" => None,
                        t => Some(serde_json::from_str(t).map_err(|e| bad(6, format!("task '{t}': {e}")))?),
                    },
                    state: JobState::parse(&state).ok_or_else(|| bad(2, format!("unknown job state '{state}'")))?,
                    created: r.get(3)?,
                    updated: r.get(4)?,
                })
            })
            .optional()
    }

    /// Moves job `id` to `state`, with an event.
    pub fn set_state(&self, id: &str, state: JobState) -> rusqlite::Result<()> {
        let t = now();
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute("UPDATE jobs SET state = ?1, updated = ?2 WHERE id = ?3", params![state.as_str(), t, id])?;
        tx.execute(
            "INSERT INTO events (job, at, kind, detail) VALUES (?1, ?2, 'state', ?3)",
            params![id, t, state.as_str()],
        )?;
        tx.commit()
    }

    /// Appends an event to job `id`'s log.
    pub fn event(&self, id: &str, kind: &str, detail: &str) -> rusqlite::Result<()> {
        self.conn()
            .execute(
                "INSERT INTO events (job, at, kind, detail) VALUES (?1, ?2, ?3, ?4)",
                params![id, now(), kind, detail],
            )
            .map(|_| ())
    }

    /// Job `id`'s events in order: `(time, kind, detail)`.
    pub fn events(&self, id: &str) -> rusqlite::Result<Vec<(i64, String, String)>> {
        let conn = self.conn();
        let mut st = conn.prepare("SELECT at, kind, detail FROM events WHERE job = ?1 ORDER BY seq")?;
        let rows = st.query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect()
    }

    /// Deletes job `id` and its tokens (its events stay, as the log of what happened).
    pub fn delete_job(&self, id: &str) -> rusqlite::Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM tokens WHERE job = ?1", [id])?;
        let n = tx.execute("DELETE FROM jobs WHERE id = ?1", [id])?;
        tx.execute("INSERT INTO events (job, at, kind, detail) VALUES (?1, ?2, 'deleted', '')", params![id, now()])?;
        tx.commit()?;
        Ok(n > 0)
    }

    /// The jobs in any of `states`, oldest first.
    pub fn jobs_in(&self, states: &[JobState]) -> rusqlite::Result<Vec<String>> {
        let conn = self.conn();
        let mut st = conn.prepare("SELECT id, state FROM jobs ORDER BY created, id")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let wanted: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
        Ok(rows.filter_map(Result::ok).filter(|(_, s)| wanted.contains(&s.as_str())).map(|(id, _)| id).collect())
    }

    /// The number of jobs in each state.
    pub fn counts(&self) -> rusqlite::Result<Vec<(String, i64)>> {
        let conn = self.conn();
        let mut st = conn.prepare("SELECT state, COUNT(*) FROM jobs GROUP BY state ORDER BY state")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> TaskShape {
        TaskShape { classes: 2, features: 1280, batch: 512, compact_softmax: false }
    }

    /// A database of schema version 1 (before jobs declared a preset and task) opens, keeps its
    /// jobs with none declared, and takes new jobs with both.
    #[test]
    fn version_1_is_migrated() {
        let dir = std::env::temp_dir().join(format!("hetal-serve-db-v1-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("db.sqlite3");
        {
            let c = Connection::open(&path).unwrap();
            let v1 = SCHEMA.replace(",\n    preset TEXT NOT NULL DEFAULT '',\n    task TEXT NOT NULL DEFAULT ''", "");
            assert_ne!(v1, SCHEMA);
            c.execute_batch(&v1).unwrap();
            c.execute_batch(
                "INSERT INTO meta VALUES ('schema', '1'); \
                 INSERT INTO jobs VALUES ('old', 'before', 'ready', 1, 1);",
            )
            .unwrap();
        }
        let db = Db::open(&path).unwrap();
        let old = db.job("old").unwrap().unwrap();
        assert_eq!((old.state, old.preset, old.task), (JobState::Ready, None, None));
        db.create_job("new", "after", (TrainPreset::InsecureTrainN12, &task()), "h").unwrap();
        assert_eq!(db.job("new").unwrap().unwrap().preset, Some(TrainPreset::InsecureTrainN12));
        drop(db);
        assert!(Db::open(&path).is_ok(), "opened again at version 2");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn jobs_tokens_and_events_survive_a_reopen() {
        let dir = std::env::temp_dir().join(format!("hetal-serve-db-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("db.sqlite3");
        {
            let db = Db::open(&path).unwrap();
            db.create_job("j1", "first", (TrainPreset::BootstrapN16, &task()), "h1").unwrap();
            db.create_job("j2", "second", (TrainPreset::InsecureTrainN12, &task()), "h2").unwrap();
            db.set_state("j1", JobState::Ready).unwrap();
            assert!(
                db.create_job("j1", "again", (TrainPreset::BootstrapN16, &task()), "h3").is_err(),
                "ids are unique"
            );
        }
        let db = Db::open(&path).unwrap();
        assert_eq!(db.job_of_token("h1").unwrap().as_deref(), Some("j1"));
        assert_eq!(db.job_of_token("nope").unwrap(), None);
        let j1 = db.job("j1").unwrap().unwrap();
        assert_eq!((j1.state, j1.preset, j1.task), (JobState::Ready, Some(TrainPreset::BootstrapN16), Some(task())));
        let kinds: Vec<String> = db.events("j1").unwrap().into_iter().map(|e| e.1).collect();
        assert_eq!(kinds, ["created", "state"]);
        assert!(db.delete_job("j2").unwrap());
        assert_eq!(db.job_of_token("h2").unwrap(), None, "a deleted job's token opens nothing");
        assert!(!db.delete_job("j2").unwrap());
        assert_eq!(db.counts().unwrap(), vec![("ready".to_string(), 1)]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
