//! `hetal remote submit` against a `hetal serve` child process on 127.0.0.1, at the insecure
//! test preset: the job arrives whole, becomes ready, and `hetal train` runs on the service's
//! folder as it would on the client's.

mod common;

use common::{ok, temp, write_csv};
use std::process::{Child, Command};

/// The service, killed when the test ends (also when it fails).
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
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

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_hetal"))
        .current_dir(&d)
        .args(["serve", "--listen", &listen, "--data-dir", "srv"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let _server = Server(child);
    let t0 = std::time::Instant::now();
    while std::net::TcpStream::connect(&listen).is_err() {
        assert!(t0.elapsed().as_secs() < 60, "hetal serve did not start");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let server = format!("http://{listen}");
    let out = ok(&d, &["remote", "submit", "--server", &server, "--keys", "keys/public.hbundle", "--job", "job"]);
    assert!(out.contains("state ready"), "{out}");
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
