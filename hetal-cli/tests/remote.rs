//! `hetal remote submit` against a `hetal serve` child process on 127.0.0.1, at the insecure
//! test preset: the job arrives whole, becomes ready, and `hetal train` runs on the service's
//! folder as it would on the client's.

mod common;

use common::{copy_dir, golden_keys_and_job, model_fingerprint, ok, temp, write_csv, GOLDEN_MODEL};
use std::path::Path;
use std::process::{Child, Command};

/// The service, killed when the test ends (also when it fails).
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `hetal serve` in `d` (data in `d/srv`) on 127.0.0.1:`port` and waits until it listens.
fn serve(d: &Path, port: u16) -> Server {
    serve_with(d, port, &[])
}

/// [`serve`] with more options.
fn serve_with(d: &Path, port: u16, more: &[&str]) -> Server {
    let listen = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_hetal"))
        .current_dir(d)
        .args(["serve", "--listen", &listen, "--data-dir", "srv"])
        .args(more)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    let t0 = std::time::Instant::now();
    while std::net::TcpStream::connect(&listen).is_err() {
        assert!(t0.elapsed().as_secs() < 60, "hetal serve did not start");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    server
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The whole protocol over HTTP, with the server killed (SIGKILL) after its first checkpointed
/// step and started again: the job resumes by itself from its checkpoint, and the client's
/// `hetal remote run`, run again, ends with the file workflow's golden model, bit for bit.
#[test]
fn the_protocol_over_http_survives_a_killed_server_and_ends_with_the_golden_model() {
    let d = temp("http-golden");
    golden_keys_and_job(&d);
    let port = free_port();
    let server = serve(&d, port);
    let url = format!("http://127.0.0.1:{port}");
    ok(&d, &["remote", "submit", "--server", &url, "--keys", "keys/public.hbundle", "--job", "job"]);
    let rj: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("job/client/remote.json")).unwrap()).unwrap();
    let report = d.join("srv/jobs").join(rj["id"].as_str().unwrap()).join("job/server/report.json");
    let mut client = Command::new(env!("CARGO_BIN_EXE_hetal"))
        .current_dir(&d)
        .args(["remote", "run", "--job", "job", "--poll", "0.2"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    let steps = |p: &Path| -> usize {
        std::fs::read(p)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v["steps"].as_array().map(Vec::len))
            .unwrap_or(0)
    };
    while steps(&report) == 0 {
        assert!(t0.elapsed().as_secs() < 300, "no step after 5 minutes");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    drop(server); // SIGKILL, mid-training
    let _ = client.wait(); // the client loses the service and stops with an error
    let done = steps(&report);
    let _server = serve(&d, port);
    let out = ok(&d, &["remote", "run", "--job", "job", "--poll", "0.2"]);
    assert!(out.contains("encrypted model ->"), "{out}");
    assert!(steps(&report) >= done, "a finished step was lost");
    // The status reports the run: steps, the levels of the last step, bootstraps per step.
    let st: serde_json::Value = serde_json::from_str(&ok(&d, &["remote", "status", "--job", "job"])).unwrap();
    let t = &st["training"];
    assert_eq!(st["job"]["state"], "finished");
    assert!(t["steps"].as_u64().unwrap() >= 3 && t["bootstraps_per_step"].as_f64().unwrap() > 0.0, "{t}");
    assert_eq!(t["levels_last_step"].as_array().map(Vec::len), Some(6), "{t}");
    assert!(t["seconds_per_step"].as_f64().unwrap() > 0.0 && t["eta_epoch_seconds"].as_f64().is_some(), "{t}");
    ok(&d, &["decrypt", "model", "--out", "m.npy", "--exact"]);
    assert_eq!(
        model_fingerprint(&d.join("m.npy")),
        GOLDEN_MODEL,
        "the model over HTTP differs from the file workflow's"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn submit_uploads_a_job_that_trains_on_the_service() {
    let d = temp("submit");
    write_csv(&d.join("train.csv"), 24, 0);
    write_csv(&d.join("val.csv"), 8, 100);
    let seed = ["--seed", "5"];
    ok(
        &d,
        &[
            &seed[..],
            &["keygen", "--preset", "insecure-train-n12", "--classes", "3", "--features", "7", "--batch", "16"],
        ]
        .concat(),
    );
    ok(
        &d,
        &[
            &seed[..],
            &["encrypt", "--train-csv", "train.csv", "--val-csv", "val.csv", "--max-epochs", "1", "--job", "job"],
        ]
        .concat(),
    );

    let port = free_port();
    let _server = serve(&d, port);
    let server = format!("http://127.0.0.1:{port}");
    // The client is killed (SIGKILL) once the service holds the bundle's first chunk; run
    // again, it sends only what the service lacks.
    let submit = ["remote", "submit", "--server", &server, "--keys", "keys/public.hbundle", "--job", "job"];
    let mut first = Command::new(env!("CARGO_BIN_EXE_hetal"))
        .current_dir(&d)
        .args(submit)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    let held = loop {
        let id = std::fs::read(d.join("job/client/remote.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v["id"].as_str().map(String::from));
        let part = id.map(|id| d.join("srv/jobs").join(id).join("keys/public.hbundle.part"));
        let n = part.and_then(|p| std::fs::metadata(p).ok()).map_or(0, |m| m.len());
        if n >= hetal_serve::CHUNK {
            first.kill().unwrap();
            let _ = first.wait();
            break n;
        }
        assert!(first.try_wait().unwrap().is_none(), "the first submit ended before it could be killed");
        assert!(t0.elapsed().as_secs() < 120, "no chunk arrived");
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    let total: u64 = [
        "keys/public.hbundle",
        "job/job.json",
        "job/init.hmat",
        "job/val.hmat",
        "job/batches/batch-0000.hmat",
        "job/batches/batch-0001.hmat",
    ]
    .iter()
    .map(|f| std::fs::metadata(d.join(f)).unwrap().len())
    .sum();
    let out = ok(&d, &submit);
    assert!(out.contains("state ready"), "{out}");
    let sent: u64 = out.split(": ").nth(1).and_then(|s| s.split(' ').next()).and_then(|n| n.parse().ok()).unwrap();
    assert!(
        sent + held <= total + hetal_serve::CHUNK && sent < total - hetal_serve::CHUNK / 2,
        "resumed upload sent {sent} of {total} bytes ({held} were held)"
    );
    // The id and token are the client's, in its private folder; a second submit sends nothing.
    let rj: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("job/client/remote.json")).unwrap()).unwrap();
    let id = rj["id"].as_str().unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("job/client/remote.json")).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "remote.json holds the token: mode {mode:o}");
    }
    let again = ok(&d, &["remote", "submit", "--server", &server, "--keys", "keys/public.hbundle", "--job", "job"]);
    assert!(again.contains(&format!("job {id}")) && again.contains(": 0 bytes sent"), "{again}");
    // Byte for byte what the client has; no secret key and no client folder on the service.
    let srv = d.join("srv/jobs").join(id);
    for (mine, theirs) in [
        ("keys/public.hbundle", "keys/public.hbundle"),
        ("job/job.json", "job/job.json"),
        ("job/init.hmat", "job/init.hmat"),
        ("job/val.hmat", "job/val.hmat"),
        ("job/batches/batch-0000.hmat", "job/batches/batch-0000.hmat"),
    ] {
        assert_eq!(std::fs::read(d.join(mine)).unwrap(), std::fs::read(srv.join(theirs)).unwrap(), "{mine}");
    }
    assert!(!srv.join("job/client").exists() && !srv.join("keys/secret.hkey").exists());
    let status = ok(&d, &["remote", "status", "--job", "job"]);
    assert!(status.contains("\"state\": \"ready\""), "{status}");
    // The service's folder is the command line's layout: the server trains on it.
    let srv_job = srv.join("job");
    let bundle = srv.join("keys/public.hbundle");
    let t =
        ok(&d, &["train", "--job", srv_job.to_str().unwrap(), "--keys", bundle.to_str().unwrap(), "--max-steps", "1"]);
    assert!(t.contains("stopped after 1 steps"), "{t}");
    std::fs::remove_dir_all(&d).unwrap();
}

/// Two workers, and memory for one job: the second job waits, queued, until the first is done
/// (the two are never in training at once), and both end with the golden model. A job.json of
/// another task than the job was created for is refused.
#[test]
fn a_second_worker_waits_for_memory() {
    use hetal_train::protocol::{memory::server_memory_estimate, task::TrainPreset};
    let d = temp("http-memory");
    golden_keys_and_job(&d);
    copy_dir(&d.join("job"), &d.join("job2"));
    let size = |f: &str| std::fs::metadata(d.join(f)).unwrap().len();
    let need = server_memory_estimate(
        TrainPreset::InsecureTrainN12,
        false,
        size("keys/public.hbundle"),
        size("job/init.hmat"),
    );
    let limit = format!("{}", need as f64 * 1.5 / 1e9);
    let port = free_port();
    let _server = serve_with(&d, port, &["--workers", "2", "--memory-limit", &limit]);
    let url = format!("http://127.0.0.1:{port}");

    let remote = hetal_serve::Remote::new(&url);
    let other = hetal_train::protocol::task::TaskShape { classes: 3, features: 8, batch: 16, compact_softmax: false };
    let wrong = remote.create_job("wrong task", (TrainPreset::InsecureTrainN12, &other), None).unwrap();
    let e = remote.upload(&wrong, "job.json", &d.join("job/job.json"), 1 << 20, &mut |_, _| {}).unwrap_err();
    assert!(e.to_string().contains("HTTP 422") && e.to_string().contains("features 8"), "{e}");

    let mut jobs = Vec::new();
    for job in ["job", "job2"] {
        ok(&d, &["remote", "submit", "--server", &url, "--keys", "keys/public.hbundle", "--job", job]);
        let rj = hetal_serve::RemoteJob::load(&d.join(job)).unwrap().unwrap();
        let st = remote.status(&rj).unwrap();
        assert_eq!(st["memory_estimate_bytes"].as_u64(), Some(need), "{st}");
        jobs.push(rj);
    }
    let clients: Vec<_> = ["job", "job2"]
        .iter()
        .map(|job| {
            Command::new(env!("CARGO_BIN_EXE_hetal"))
                .current_dir(&d)
                .args(["remote", "run", "--job", job, "--poll", "0.1"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let t0 = std::time::Instant::now();
    loop {
        let states: Vec<String> =
            jobs.iter().map(|j| remote.status(j).unwrap()["job"]["state"].as_str().unwrap().to_string()).collect();
        let busy = states.iter().filter(|s| *s == "training" || *s == "awaiting_answer").count();
        assert!(busy <= 1, "both jobs in training with memory for one: {states:?}");
        if states.iter().all(|s| s == "finished") {
            break;
        }
        assert!(t0.elapsed().as_secs() < 600, "not finished after 10 minutes: {states:?}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    for mut c in clients {
        assert!(c.wait().unwrap().success());
    }
    let waited = jobs.iter().any(|j| {
        remote.status(j).unwrap()["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "memory" && e["detail"].as_str().unwrap().contains("waiting: needs about"))
    });
    assert!(waited, "neither job waited for memory");
    for (job, out) in [("job", "m1.npy"), ("job2", "m2.npy")] {
        ok(&d, &["decrypt", "model", "--job", job, "--out", out, "--exact"]);
        assert_eq!(model_fingerprint(&d.join(out)), GOLDEN_MODEL, "{job}");
    }
    std::fs::remove_dir_all(&d).unwrap();
}
