//! The HTTP routes and their handlers.

use crate::auth::{hash_token, new_token, token_matches};
use crate::config::ServeConfig;
use crate::db::{Db, JobRow, JobState};
use crate::error::{ApiError, ServeError};
use crate::files::{job_paths, FileName};
use axum::body::Body;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use futures_util::StreamExt;
use hetal_train::protocol::job::{AnswerFile, JobManifest};
use hetal_train::protocol::report::TrainReport;
use hetal_train::protocol::task::{TaskShape, TrainPreset};
use hetal_train::store::{meta_field, read_json, verify, write_json, FileKind};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

/// What every handler shares: the settings, the database, the worker's queue and counters.
pub struct AppState {
    config: ServeConfig,
    db: Arc<Db>,
    queue: crate::worker::Queue,
    bytes_received: AtomicU64,
}

impl AppState {
    /// Opens the data folder: creates it and `jobs/`, opens the database, starts the training
    /// worker and queues again the jobs that were queued, training or waiting for an answer
    /// (they resume from their checkpoints).
    pub fn open(config: ServeConfig) -> Result<Self, ServeError> {
        let jobs = config.data_dir.join("jobs");
        std::fs::create_dir_all(&jobs)?;
        let db = Arc::new(Db::open(&config.data_dir.join("hetal-serve.sqlite3"))?);
        let queue = crate::worker::start(db.clone(), jobs, config.workers, config.memory_budget());
        let unfinished = [JobState::Queued, JobState::Training, JobState::AwaitingAnswer];
        for id in db.jobs_in(&unfinished).map_err(|source| ServeError::Db { path: db.path().into(), source })? {
            tracing::info!(job = %id, "resuming");
            queue.push(&id);
        }
        Ok(Self { config, db, queue, bytes_received: AtomicU64::new(0) })
    }

    fn job_dir(&self, id: &str) -> PathBuf {
        self.config.data_dir.join("jobs").join(id)
    }
}

/// The service's routes over `state` (see the crate documentation and `openapi.json`).
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(openapi))
        .route("/metrics", get(metrics))
        .route("/jobs", post(create_job))
        .route("/jobs/{id}", get(job_status).delete(delete_job))
        .route("/jobs/{id}/files/{*name}", put(upload_chunk).get(upload_status))
        .route("/jobs/{id}/complete/{*name}", post(complete_upload))
        .route("/jobs/{id}/start", post(start_job))
        .route("/jobs/{id}/validation/{epoch}", get(validation))
        .route("/jobs/{id}/answers/{epoch}", post(answer).layer(DefaultBodyLimit::max(64 << 10)))
        .route("/jobs/{id}/model", get(model))
        .fallback(no_route)
        .method_not_allowed_fallback(no_method)
        // Upload chunks are bounded while they stream (`Limits::chunk`), not buffered.
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

type Shared = State<Arc<AppState>>;

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

async fn openapi() -> Response {
    ([("content-type", "application/json")], crate::OPENAPI).into_response()
}

async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, format!("no route {method} {}", uri.path()))
}

async fn no_method(method: Method, uri: Uri) -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, format!("{method} is not a method of {}", uri.path()))
}

/// Prometheus text format: jobs by state, bytes received since start, bytes stored, training
/// steps and bootstraps of the stored jobs.
async fn metrics(State(s): Shared) -> Result<Response, ApiError> {
    let mut out = String::from("# TYPE hetal_jobs gauge\n");
    for (state, n) in s.db.counts()? {
        out.push_str(&format!("hetal_jobs{{state=\"{state}\"}} {n}\n"));
    }
    let jobs = s.config.data_dir.join("jobs");
    let (stored, steps, boots) = tokio::task::spawn_blocking(move || {
        let (mut steps, mut boots) = (0u64, 0u64);
        for e in std::fs::read_dir(&jobs).into_iter().flatten().flatten() {
            let t = training_status(&e.path());
            steps += t["steps"].as_u64().unwrap_or(0);
            boots += t["bootstraps"].as_u64().unwrap_or(0);
        }
        (dir_bytes(&jobs), steps, boots)
    })
    .await
    .unwrap_or((0, 0, 0));
    out.push_str(&format!(
        "# TYPE hetal_bytes_received_total counter\nhetal_bytes_received_total {}\n\
         # TYPE hetal_bytes_stored gauge\nhetal_bytes_stored {stored}\n\
         # TYPE hetal_steps gauge\nhetal_steps {steps}\n\
         # TYPE hetal_bootstraps gauge\nhetal_bootstraps {boots}\n",
        s.bytes_received.load(Ordering::Relaxed)
    ));
    Ok(([("content-type", "text/plain; version=0.0.4")], out).into_response())
}

fn dir_bytes(dir: &std::path::Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else { return 0 };
    rd.flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}

/// The bearer token of a request, if it has one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get("authorization")?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

/// Refuses the request unless its token opens job `id`. A job that does not exist and a token
/// of another job get the same answer.
fn authorize(s: &AppState, headers: &HeaderMap, id: &str) -> Result<(), ApiError> {
    let token = bearer(headers).ok_or_else(ApiError::unauthorized)?;
    match s.db.job_of_token(&hash_token(token))? {
        Some(job) if job == id => Ok(()),
        _ => Err(ApiError::unauthorized()),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateJob {
    #[serde(default)]
    name: String,
    preset: TrainPreset,
    task: TaskShape,
}

/// The body `POST /jobs` takes, for error messages.
const CREATE_BODY: &str =
    "{\"name\": \"...\", \"preset\": \"bootstrap-n16\", \"task\": {\"classes\": C, \"features\": F, \"batch\": B}}";

/// `POST /jobs`: a new job of a declared preset and task shape (its bundle and `job.json` are
/// checked against them), and its token (shown once; only its hash is kept).
async fn create_job(
    State(s): Shared,
    headers: HeaderMap,
    body: Result<Json<CreateJob>, JsonRejection>,
) -> Result<Response, ApiError> {
    if let Some(admin) = &s.config.admin_token {
        let ok = bearer(&headers).is_some_and(|t| token_matches(t, &hash_token(admin)));
        if !ok {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "creating a job needs the admin token"));
        }
    }
    let Json(req) =
        body.map_err(|e| ApiError::bad_request(format!("the body must be {CREATE_BODY}: {}", e.body_text())))?;
    req.task.check().map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("task: {e}")))?;
    if req.name.len() > 200 || req.name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "a job name has at most 200 printable characters (got {})",
            req.name.len()
        )));
    }
    let (id, token) = (new_token()[..24].to_string(), new_token());
    std::fs::create_dir_all(s.job_dir(&id)).map_err(|e| ApiError::internal("job folder", e))?;
    let row = s.db.create_job(&id, &req.name, (req.preset, &req.task), &hash_token(&token))?;
    tracing::info!(job = %id, preset = req.preset.name(), "job created");
    let answer = serde_json::json!({
        "id": row.id, "token": token, "state": row.state, "preset": row.preset, "task": row.task,
    });
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// The files of job folder `dir`: `(name, bytes, complete)` for every file present or partial.
fn job_files(dir: &std::path::Path, manifest: Option<&JobManifest>) -> Vec<(String, u64, bool)> {
    let mut names = vec![FileName::Bundle, FileName::Manifest, FileName::Init, FileName::Validation];
    names.extend((0..manifest.map_or(0, |m| m.batches)).map(FileName::Batch));
    let mut out = Vec::new();
    for f in names {
        if let Ok(m) = std::fs::metadata(f.path(dir)) {
            out.push((f.name(), m.len(), true));
        } else if let Ok(m) = std::fs::metadata(f.part_path(dir)) {
            out.push((f.name(), m.len(), false));
        }
    }
    out
}

fn manifest(dir: &std::path::Path) -> Option<JobManifest> {
    let paths = job_paths(dir);
    paths.manifest().exists().then(|| JobManifest::read(&paths.0).ok()).flatten()
}

/// `GET /jobs/{id}`: state, files and events.
async fn job_status(State(s): Shared, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, ApiError> {
    authorize(&s, &headers, &id)?;
    let row = s.db.job(&id)?.ok_or_else(ApiError::unauthorized)?;
    let dir = s.job_dir(&id);
    let files: Vec<serde_json::Value> = job_files(&dir, manifest(&dir).as_ref())
        .into_iter()
        .map(|(name, bytes, complete)| serde_json::json!({ "name": name, "bytes": bytes, "complete": complete }))
        .collect();
    let events: Vec<serde_json::Value> =
        s.db.events(&id)?
            .into_iter()
            .map(|(at, kind, detail)| serde_json::json!({ "at": at, "kind": kind, "detail": detail }))
            .collect();
    let training = training_status(&dir);
    let memory = crate::worker::memory_estimate(&dir);
    Ok(Json(serde_json::json!({
        "job": row, "files": files, "training": training, "memory_estimate_bytes": memory, "events": events,
    }))
    .into_response())
}

/// `DELETE /jobs/{id}`: the job, its token and its files.
async fn delete_job(State(s): Shared, headers: HeaderMap, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    authorize(&s, &headers, &id)?;
    s.db.delete_job(&id)?;
    let dir = s.job_dir(&id);
    tokio::task::spawn_blocking(move || std::fs::remove_dir_all(dir))
        .await
        .map_err(|e| ApiError::internal("delete", e))?
        .or_else(|e| if e.kind() == std::io::ErrorKind::NotFound { Ok(()) } else { Err(e) })
        .map_err(|e| ApiError::internal("delete", e))?;
    tracing::info!(job = %id, "job deleted");
    Ok(StatusCode::NO_CONTENT)
}

fn file_name(name: &str) -> Result<FileName, ApiError> {
    FileName::parse(name).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!(
                "'{name}' is not a file of a job (public.hbundle, job.json, init.hmat, val.hmat, batches/batch-NNNN.hmat)"
            ),
        )
    })
}

/// The prologue of the file routes: the token must open job `id`, and `name` must be a file
/// of a job; gives the file and the job's folder.
fn job_file(s: &AppState, headers: &HeaderMap, id: &str, name: &str) -> Result<(FileName, PathBuf), ApiError> {
    authorize(s, headers, id)?;
    Ok((file_name(name)?, s.job_dir(id)))
}

fn len_of(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// `GET /jobs/{id}/files/{name}`: how many bytes of an upload the server holds (to resume).
async fn upload_status(
    State(s): Shared,
    headers: HeaderMap,
    Path((id, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (f, dir) = job_file(&s, &headers, &id, &name)?;
    let done = f.path(&dir).exists();
    let received = if done { len_of(&f.path(&dir)) } else { len_of(&f.part_path(&dir)) };
    Ok(Json(serde_json::json!({ "name": f.name(), "received": received, "complete": done })).into_response())
}

#[derive(serde::Deserialize)]
struct Offset {
    offset: u64,
}

/// `PUT /jobs/{id}/files/{name}?offset=N`: appends one chunk to an upload. `N` must be the
/// bytes the server holds; the body is streamed to disk and synced before the answer.
async fn upload_chunk(
    State(s): Shared,
    headers: HeaderMap,
    Path((id, name)): Path<(String, String)>,
    query: Result<Query<Offset>, axum::extract::rejection::QueryRejection>,
    body: Body,
) -> Result<Response, ApiError> {
    let (f, dir) = job_file(&s, &headers, &id, &name)?;
    let Query(Offset { offset }) =
        query.map_err(|_| ApiError::bad_request("a chunk needs ?offset=N (the bytes the server holds)"))?;
    if f.path(&dir).exists() {
        drain(body, s.config.limits.chunk).await;
        return Err(ApiError::new(StatusCode::CONFLICT, format!("{name} is already complete")));
    }
    let part = f.part_path(&dir);
    let held = len_of(&part);
    if offset != held {
        drain(body, s.config.limits.chunk).await;
        return Ok((
            StatusCode::CONFLICT,
            Json(serde_json::json!({
                "error": format!("offset {offset}, but the server holds {held} bytes of {name}: resume from {held}"),
                "received": held,
            })),
        )
            .into_response());
    }
    let limit = f.limit(&s.config.limits);
    if let Some(parent) = part.parent() {
        tokio::fs::create_dir_all(parent).await.map_err(|e| ApiError::internal("upload folder", e))?;
    }
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&part)
        .await
        .map_err(|e| ApiError::internal("upload", e))?;
    let mut written = 0u64;
    let mut stream = body.into_data_stream();
    let mut refused = None;
    while let Some(chunk) = stream.next().await {
        let Ok(bytes) = chunk else { break }; // the client went away: keep what arrived
        let n = bytes.len() as u64;
        if written + n > s.config.limits.chunk {
            refused = Some(format!("a chunk has at most {} bytes", s.config.limits.chunk));
            break;
        }
        if offset + written + n > limit {
            refused = Some(format!("{name} may have at most {limit} bytes"));
            break;
        }
        file.write_all(&bytes).await.map_err(|e| ApiError::internal("upload", e))?;
        written += n;
    }
    if let Some(why) = refused {
        // Back to where the chunk began: what was stored before stays intact.
        file.set_len(offset).await.map_err(|e| ApiError::internal("upload", e))?;
        return Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, why));
    }
    file.sync_data().await.map_err(|e| ApiError::internal("upload", e))?;
    s.bytes_received.fetch_add(written, Ordering::Relaxed);
    Ok(Json(serde_json::json!({ "name": f.name(), "received": offset + written })).into_response())
}

/// Reads and drops up to `max` bytes of a chunk refused before it was read, so that the client
/// (which is still sending) gets the answer instead of a connection reset; a larger body is
/// cut off.
async fn drain(body: Body, max: u64) {
    let mut stream = body.into_data_stream();
    let mut n = 0u64;
    while let Some(Ok(bytes)) = stream.next().await {
        n += bytes.len() as u64;
        if n > max {
            break;
        }
    }
}

/// `POST /jobs/{id}/complete/{name}`: checks a finished upload and puts it in place.
async fn complete_upload(
    State(s): Shared,
    headers: HeaderMap,
    Path((id, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (f, dir) = job_file(&s, &headers, &id, &name)?;
    let row = s.db.job(&id)?.ok_or_else(ApiError::unauthorized)?;
    let target = f.path(&dir);
    if target.exists() {
        return Ok(
            Json(serde_json::json!({ "name": f.name(), "bytes": len_of(&target), "complete": true })).into_response()
        );
    }
    let part = f.part_path(&dir);
    if !part.exists() {
        return Err(ApiError::new(StatusCode::CONFLICT, format!("nothing of {name} was uploaded")));
    }
    let d = dir.clone();
    let checked = tokio::task::spawn_blocking(move || check_upload(f, &d, &row))
        .await
        .map_err(|e| ApiError::internal("check", e))?;
    if let Err(e) = checked {
        // A refused upload is removed: the client sends it again from the start.
        let _ = std::fs::remove_file(&part);
        let _ = std::fs::remove_file(&target);
        s.db.event(&id, "refused", &format!("{name}: {}", e.message))?;
        return Err(e);
    }
    let bytes = len_of(&target);
    s.db.event(&id, "uploaded", &format!("{name} ({bytes} bytes)"))?;
    if is_complete(&dir) {
        s.db.set_state(&id, JobState::Ready)?;
    }
    let state = s.db.job(&id)?.map(|j| j.state);
    tracing::info!(job = %id, file = %name, bytes, "upload complete");
    Ok(Json(serde_json::json!({ "name": f.name(), "bytes": bytes, "complete": true, "state": state })).into_response())
}

/// Refuses a file that names another preset or task shape than the job declared (jobs of
/// schema version 1 declared none).
fn check_declared(name: &str, job: &JobRow, preset: TrainPreset, task: &TaskShape) -> Result<(), ApiError> {
    let (want_preset, want_task) = match (job.preset, &job.task) {
        (Some(p), Some(t)) => (p, t),
        _ => return Ok(()),
    };
    if preset != want_preset || task != want_task {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "{name} is for preset {} and task (classes {}, features {}, batch {}), but the job was created \
                 for preset {} and task (classes {}, features {}, batch {})",
                preset.name(),
                task.classes,
                task.features,
                task.batch,
                want_preset.name(),
                want_task.classes,
                want_task.features,
                want_task.batch
            ),
        ));
    }
    Ok(())
}

/// Checks the partial upload of `f` in job folder `dir` of job `job` and renames it into
/// place: the container's checksum, its kind, its binding to the key and job of `job.json`,
/// and the preset and task shape the job was created with.
fn check_upload(f: FileName, dir: &std::path::Path, job: &JobRow) -> Result<(), ApiError> {
    let (part, target) = (f.part_path(dir), f.path(dir));
    let unprocessable = |m: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, m);
    let name = f.name();
    if f == FileName::Manifest {
        std::fs::rename(&part, &target).map_err(|e| ApiError::internal("rename", e))?;
        let m = JobManifest::read(target.parent().unwrap_or(dir)).map_err(|e| unprocessable(format!("{name}: {e}")))?;
        check_declared(&name, job, m.preset, &m.task)?;
        if let Some(found) = verify(&FileName::Bundle.path(dir)).ok().map(|v| v.binding.key) {
            if found != m.key {
                return Err(unprocessable(format!("{name} is for key {}, the uploaded bundle for key {found}", m.key)));
            }
        }
        return Ok(());
    }
    let v = verify(&part).map_err(|e| unprocessable(format!("{name}: {e}; upload it again")))?;
    let expected = if f == FileName::Bundle { FileKind::PublicBundle } else { FileKind::Matrices };
    if v.kind == FileKind::SecretKey {
        return Err(unprocessable(format!("{name} is a secret key: the server never holds one (it was deleted)")));
    }
    if v.kind != expected {
        return Err(unprocessable(format!("{name} holds {}, not {}", v.kind.describe(), expected.describe())));
    }
    if f == FileName::Bundle {
        let bad = |e: hetal_train::store::FileError| unprocessable(format!("{name}: {e}"));
        let preset: TrainPreset = meta_field(&part, &v.meta, "preset").map_err(bad)?;
        let task: TaskShape = meta_field(&part, &v.meta, "task").map_err(bad)?;
        check_declared(&name, job, preset, &task)?;
    }
    if let Some(m) = manifest(dir) {
        if v.binding.key != m.key || (f != FileName::Bundle && v.binding.job != m.job) {
            return Err(unprocessable(format!(
                "{name} was made with key {} for job {}, but job.json names key {} and job {}",
                v.binding.key, v.binding.job, m.key, m.job
            )));
        }
    }
    std::fs::rename(&part, &target).map_err(|e| ApiError::internal("rename", e))
}

/// Whether every file of the job is in place: the bundle, the manifest, the initial weights,
/// the validation set and each batch the manifest names.
fn is_complete(dir: &std::path::Path) -> bool {
    let Some(m) = manifest(dir) else { return false };
    [FileName::Bundle, FileName::Init, FileName::Validation]
        .into_iter()
        .chain((0..m.batches).map(FileName::Batch))
        .all(|f| f.path(dir).exists())
}

/// Training progress from the server's report: steps, the epoch under way and the time to its
/// end, the levels of the last step, epochs answered, bootstraps, the epoch whose validation
/// outputs wait for an answer.
fn training_status(dir: &std::path::Path) -> serde_json::Value {
    let paths = job_paths(dir);
    let Ok(r) = read_json::<TrainReport>(&paths.report(), "training report") else { return serde_json::Value::Null };
    let waiting = paths.latest_validation().filter(|&e| !paths.answer(e).exists());
    // The epoch under way, its steps done, and the time to its end at the mean step time of
    // the run (the run's end is the client's early stopping: no ETA for it).
    let steps = r.steps.len();
    let last = r.steps.last();
    let epoch = last.map_or(1, |s| s.epoch);
    let in_epoch = r.steps.iter().filter(|s| s.epoch == epoch).count();
    let batches = manifest(dir).map_or(0, |m| m.batches);
    let mean = r.steps.iter().map(|s| s.seconds[0]).sum::<f64>() / steps.max(1) as f64;
    let eta = batches.saturating_sub(in_epoch) as f64 * mean;
    serde_json::json!({
        "steps": steps,
        "epoch": epoch,
        "steps_in_epoch": in_epoch,
        "batches": batches,
        "seconds_per_step": mean,
        "eta_epoch_seconds": eta,
        "levels_last_step": last.map(|s| s.levels),
        "epochs_answered": r.epochs_answered,
        "bootstraps": r.bootstraps(),
        "bootstraps_per_step": r.bootstraps_per_step(None),
        "awaiting_epoch": waiting,
        "best_epoch": r.best_epoch,
        "finished": r.finished,
    })
}

/// `POST /jobs/{id}/start`: queues a ready (or failed) job for the worker.
async fn start_job(State(s): Shared, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, ApiError> {
    authorize(&s, &headers, &id)?;
    let row = s.db.job(&id)?.ok_or_else(ApiError::unauthorized)?;
    if !matches!(row.state, JobState::Ready | JobState::Failed) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("the job is {}; only a ready (or failed) job can be started", row.state.as_str()),
        ));
    }
    s.db.set_state(&id, JobState::Queued)?;
    s.queue.push(&id);
    Ok(Json(serde_json::json!({ "state": JobState::Queued })).into_response())
}

/// Streams the file at `path` (404 with `what` if it is not there).
async fn send_file(path: PathBuf, what: String) -> Result<Response, ApiError> {
    let f = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ApiError::new(StatusCode::NOT_FOUND, what)),
        Err(e) => return Err(ApiError::internal("download", e)),
    };
    let len = f.metadata().await.map_err(|e| ApiError::internal("download", e))?.len();
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(f));
    Ok(([("content-type", "application/octet-stream".to_string()), ("content-length", len.to_string())], body)
        .into_response())
}

/// `GET /jobs/{id}/validation/{epoch}`: that epoch's encrypted validation outputs.
async fn validation(
    State(s): Shared,
    headers: HeaderMap,
    Path((id, epoch)): Path<(String, usize)>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, &id)?;
    let path = job_paths(&s.job_dir(&id)).validation(epoch);
    send_file(path, format!("no validation outputs of epoch {epoch} yet")).await
}

/// `GET /jobs/{id}/model`: the encrypted model, once training has finished.
async fn model(State(s): Shared, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, ApiError> {
    authorize(&s, &headers, &id)?;
    let path = job_paths(&s.job_dir(&id)).model();
    send_file(path, "no model yet: training has not finished".into()).await
}

/// `POST /jobs/{id}/answers/{epoch}`: the client's answer to an epoch (`hetal decrypt
/// validation` writes it), stored where the server session reads it.
async fn answer(
    State(s): Shared,
    headers: HeaderMap,
    Path((id, epoch)): Path<(String, usize)>,
    body: Result<Json<AnswerFile>, JsonRejection>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, &id)?;
    let Json(a) = body.map_err(|e| {
        ApiError::new(
            e.status(),
            format!(
                "an answer is {{\"epoch\": E, \"decision\": \"continue\"|\"stop\", \"best_so_far\": bool}} \
                 (at most 64 KB): {}",
                e.body_text()
            ),
        )
    })?;
    if a.epoch != epoch || a.decision().is_none() {
        return Err(ApiError::bad_request(format!(
            "the answer says epoch {} and decision '{}' (expected epoch {epoch}, continue or stop)",
            a.epoch, a.decision
        )));
    }
    let paths = job_paths(&s.job_dir(&id));
    if !paths.validation(epoch).exists() {
        return Err(ApiError::new(StatusCode::CONFLICT, format!("epoch {epoch} has no validation outputs to answer")));
    }
    let path = paths.answer(epoch);
    if path.exists() {
        let old: AnswerFile = read_json(&path, "client answer").map_err(|e| ApiError::internal("answer", e))?;
        return if old == a {
            Ok(Json(serde_json::json!({ "epoch": epoch, "stored": true })).into_response())
        } else {
            Err(ApiError::new(StatusCode::CONFLICT, format!("epoch {epoch} was already answered otherwise")))
        };
    }
    tokio::task::spawn_blocking(move || write_json(&path, &a, false))
        .await
        .map_err(|e| ApiError::internal("answer", e))?
        .map_err(|e| ApiError::internal("answer", e))?;
    s.db.event(&id, "answer", &format!("epoch {epoch}"))?;
    Ok(Json(serde_json::json!({ "epoch": epoch, "stored": true })).into_response())
}
