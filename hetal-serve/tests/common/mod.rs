//! What the service's tests share: a service on 127.0.0.1 (an OS-chosen port) over a fresh
//! data folder, an HTTP agent, and the task every test job declares.
// Each test file uses its own subset of these.
#![allow(dead_code)]

use hetal_serve::ServeConfig;
use hetal_train::protocol::task::{TaskShape, TrainPreset};
use std::path::PathBuf;

/// A running service: its base URL and data folder; stopped (runtime dropped) at the end.
pub struct Service {
    pub base: String,
    pub dir: PathBuf,
    pub rt: tokio::runtime::Runtime,
}

/// A fresh data folder named after the test.
pub fn data_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hetal-serve-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// A service over `dir` with the default settings changed by `tweak`.
pub fn start_with(dir: PathBuf, tweak: impl FnOnce(&mut ServeConfig)) -> Service {
    let mut config = ServeConfig::new("127.0.0.1:0".parse().unwrap(), dir.clone());
    tweak(&mut config);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let listener = rt.block_on(hetal_serve::bind(&config)).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = hetal_serve::app(config).unwrap();
    rt.spawn(async move { axum::serve(listener, app).await });
    Service { base, dir, rt }
}

/// A service with the default settings over a fresh folder.
pub fn start(name: &str) -> Service {
    start_with(data_dir(name), |_| {})
}

pub fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().timeout(std::time::Duration::from_secs(30)).build()
}

/// The preset and task shape the test jobs declare.
pub const PRESET: TrainPreset = TrainPreset::InsecureTrainN12;

pub fn task() -> TaskShape {
    TaskShape { classes: 3, features: 7, batch: 16, compact_softmax: false }
}

/// The body of `POST /jobs` for a job named `name` of [`PRESET`] and [`task`].
pub fn create_body(name: &str) -> serde_json::Value {
    serde_json::json!({ "name": name, "preset": PRESET, "task": task() })
}
