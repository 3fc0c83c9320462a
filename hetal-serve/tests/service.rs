//! The service on loopback: routes, tokens, resumable uploads and refusals. Each test starts
//! its own server on 127.0.0.1 (an OS-chosen port) over a fresh data folder.

mod common;

use common::{agent, create_body, data_dir, start, start_with, task, Service, PRESET};
use hetal_serve::{Limits, ServeConfig};
use hetal_train::store::{Binding, Container, FileKind, Fingerprint};

/// Status and JSON body of a response, errors included.
fn call(r: Result<ureq::Response, ureq::Error>) -> (u16, serde_json::Value) {
    let resp = match r {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    let status = resp.status();
    let text = resp.into_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
}

fn create(s: &Service, name: &str) -> (String, String) {
    let (st, v) = call(agent().post(&format!("{}/jobs", s.base)).send_json(create_body(name)));
    assert_eq!(st, 201, "{v}");
    (v["id"].as_str().unwrap().into(), v["token"].as_str().unwrap().into())
}

fn auth(token: &str) -> String {
    format!("Bearer {token}")
}

/// A container of `kind` with `size` bytes of payload; its metadata names the test jobs'
/// preset and task, as a bundle's does.
fn container(kind: FileKind, size: usize) -> Vec<u8> {
    container_with(kind, size, serde_json::json!({ "preset": PRESET, "task": task() }))
}

fn container_with(kind: FileKind, size: usize, meta: serde_json::Value) -> Vec<u8> {
    Container {
        kind,
        binding: Binding { params: Fingerprint([1; 16]), key: Fingerprint([2; 16]), job: Fingerprint([3; 16]) },
        meta,
        parts: vec![(0..size).map(|i| (i * 7 % 251) as u8).collect()],
    }
    .to_bytes()
}

fn put(s: &Service, id: &str, token: &str, name: &str, offset: u64, body: &[u8]) -> (u16, serde_json::Value) {
    call(
        agent()
            .put(&format!("{}/jobs/{id}/files/{name}?offset={offset}", s.base))
            .set("Authorization", &auth(token))
            .send_bytes(body),
    )
}

fn complete(s: &Service, id: &str, token: &str, name: &str) -> (u16, serde_json::Value) {
    call(agent().post(&format!("{}/jobs/{id}/complete/{name}", s.base)).set("Authorization", &auth(token)).call())
}

fn received(s: &Service, id: &str, token: &str, name: &str) -> u64 {
    let (st, v) =
        call(agent().get(&format!("{}/jobs/{id}/files/{name}", s.base)).set("Authorization", &auth(token)).call());
    assert_eq!(st, 200, "{v}");
    v["received"].as_u64().unwrap()
}

#[test]
fn health_openapi_metrics_and_unknown_routes() {
    let s = start("routes");
    let (st, v) = call(agent().get(&format!("{}/health", s.base)).call());
    assert_eq!((st, v["status"].as_str()), (200, Some("ok")));
    let (st, v) = call(agent().get(&format!("{}/openapi.json", s.base)).call());
    assert_eq!(st, 200);
    assert_eq!(v["openapi"], "3.0.3");
    assert!(v["paths"]["/jobs/{id}/files/{name}"]["put"].is_object());
    let (st, v) = call(agent().get(&format!("{}/no/such/route", s.base)).call());
    assert_eq!(st, 404);
    assert!(v["error"].as_str().unwrap().contains("no route GET /no/such/route"), "{v}");
    let (st, v) = call(agent().put(&format!("{}/health", s.base)).call());
    assert_eq!(st, 405);
    assert!(v["error"].as_str().unwrap().contains("PUT is not a method of /health"), "{v}");
    create(&s, "one");
    let (st, v) = call(agent().get(&format!("{}/metrics", s.base)).call());
    assert_eq!(st, 200);
    let m = v.as_str().unwrap();
    assert!(m.contains("hetal_jobs{state=\"uploading\"} 1") && m.contains("hetal_steps 0"), "{m}");
}

#[test]
fn tokens_open_only_their_own_job() {
    let s = start("tokens");
    let (a, ta) = create(&s, "a");
    let (b, tb) = create(&s, "b");
    let status = |id: &str, token: Option<&str>| {
        let r = agent().get(&format!("{}/jobs/{id}", s.base));
        call(match token {
            Some(t) => r.set("Authorization", &auth(t)).call(),
            None => r.call(),
        })
    };
    let (st, v) = status(&a, Some(&ta));
    assert_eq!((st, v["job"]["name"].as_str(), v["job"]["state"].as_str()), (200, Some("a"), Some("uploading")));
    // No token, a wrong one, another job's, and a job that does not exist: the same 401, and
    // nothing about the job in the answer.
    for (id, token) in [(&a, None), (&a, Some("nope")), (&a, Some(tb.as_str())), (&"0".repeat(24), Some(ta.as_str()))] {
        let (st, v) = status(id, token);
        assert_eq!(st, 401, "{v}");
        assert!(!v.to_string().contains("\"a\""), "{v}");
    }
    // Deleting one job leaves the other; the deleted job's token opens nothing.
    let (st, _) = call(agent().delete(&format!("{}/jobs/{b}", s.base)).set("Authorization", &auth(&tb)).call());
    assert_eq!(st, 204);
    assert!(!s.dir.join("jobs").join(&b).exists());
    assert_eq!(status(&b, Some(&tb)).0, 401);
    assert_eq!(status(&a, Some(&ta)).0, 200);
    // The database keeps no token in the clear.
    let db = std::fs::read(s.dir.join("hetal-serve.sqlite3")).unwrap();
    assert!(!db.windows(ta.len()).any(|w| w == ta.as_bytes()));
}

#[test]
fn admin_token_guards_job_creation_and_bad_json_is_refused() {
    let s = start_with(data_dir("admin"), |c| c.admin_token = Some("s3cret-admin".into()));
    let url = format!("{}/jobs", s.base);
    let (st, v) = call(agent().post(&url).send_json(serde_json::json!({})));
    assert_eq!(st, 403, "{v}");
    let (st, _) = call(agent().post(&url).set("Authorization", "Bearer wrong").send_json(serde_json::json!({})));
    assert_eq!(st, 403);
    let ok = agent().post(&url).set("Authorization", "Bearer s3cret-admin");
    let (st, v) = call(ok.clone().set("Content-Type", "application/json").send_string("{\"name\": "));
    assert_eq!(st, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("the body must be"), "{v}");
    let (st, v) = call(ok.clone().send_json(serde_json::json!({ "name": "x", "extra": 1 })));
    assert_eq!(st, 400, "{v}");
    // The preset and the task shape are required, and checked.
    let (st, v) = call(ok.clone().send_json(serde_json::json!({ "name": "no preset" })));
    assert_eq!(st, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("\"preset\": \"bootstrap-n16\""), "{v}");
    let (st, v) = call(ok.clone().send_json(serde_json::json!({ "name": "x", "preset": "n99", "task": task() })));
    assert_eq!(st, 400, "{v}");
    let zero = serde_json::json!({ "classes": 0, "features": 7, "batch": 16 });
    let (st, v) = call(ok.clone().send_json(serde_json::json!({ "name": "x", "preset": PRESET, "task": zero })));
    assert_eq!(st, 422, "{v}");
    assert!(v["error"].as_str().unwrap().contains("task"), "{v}");
    let (st, v) = call(ok.send_json(create_body("fine")));
    assert_eq!(st, 201, "{v}");
    assert_eq!((v["preset"].as_str(), v["task"]["features"].as_u64()), (Some("insecure-train-n12"), Some(7)));
}

#[test]
fn uploads_resume_and_are_checked() {
    let s = start("uploads");
    let (id, t) = create(&s, "u");
    let bytes = container(FileKind::Matrices, 100_000);
    let (half, name) = (bytes.len() / 2, "init.hmat");
    assert_eq!(put(&s, &id, &t, name, 0, &bytes[..half]).0, 200);
    // A dropped connection: the client asks where to resume, and a wrong offset is refused.
    assert_eq!(received(&s, &id, &t, name), half as u64);
    let (st, v) = put(&s, &id, &t, name, 0, &bytes[half..]);
    assert_eq!((st, v["received"].as_u64()), (409, Some(half as u64)), "{v}");
    assert_eq!(put(&s, &id, &t, name, half as u64, &bytes[half..]).0, 200);
    let (st, v) = complete(&s, &id, &t, name);
    assert_eq!(st, 200, "{v}");
    assert_eq!(std::fs::read(s.dir.join("jobs").join(&id).join("job/init.hmat")).unwrap(), bytes);
    // Complete means complete: no more chunks, and completing again changes nothing.
    assert_eq!(put(&s, &id, &t, name, bytes.len() as u64, b"x").0, 409);
    assert_eq!(complete(&s, &id, &t, name).0, 200);

    // Corrupt (one flipped byte) and truncated uploads are refused and removed.
    for (label, bad) in [
        ("flipped", {
            let mut b = bytes.clone();
            b[5000] ^= 1;
            b
        }),
        ("truncated", bytes[..bytes.len() - 10].to_vec()),
    ] {
        assert_eq!(put(&s, &id, &t, "val.hmat", 0, &bad).0, 200, "{label}");
        let (st, v) = complete(&s, &id, &t, "val.hmat");
        assert_eq!(st, 422, "{label}: {v}");
        assert!(v["error"].as_str().unwrap().contains("upload it again"), "{v}");
        assert_eq!(received(&s, &id, &t, "val.hmat"), 0, "{label}: the part is gone");
    }
    // A secret key is refused whatever name it comes under, and not kept.
    let sk = container(FileKind::SecretKey, 1000);
    assert_eq!(put(&s, &id, &t, "public.hbundle", 0, &sk).0, 200);
    let (st, v) = complete(&s, &id, &t, "public.hbundle");
    assert_eq!(st, 422, "{v}");
    assert!(v["error"].as_str().unwrap().contains("secret key"), "{v}");
    assert!(!s.dir.join("jobs").join(&id).join("keys/public.hbundle").exists());
    assert!(!s.dir.join("jobs").join(&id).join("keys/public.hbundle.part").exists());
    // Matrices under the bundle's name are the wrong kind; names outside a job are not files.
    assert_eq!(put(&s, &id, &t, "public.hbundle", 0, &bytes).0, 200);
    assert_eq!(complete(&s, &id, &t, "public.hbundle").0, 422);
    assert_eq!(put(&s, &id, &t, "secret.hkey", 0, &sk).0, 404);
    assert_eq!(put(&s, &id, &t, "batches%2F..%2F..%2Fx.hmat", 0, &sk).0, 404);
    // A bundle made for another preset or task than the job was created for is refused.
    for meta in [
        serde_json::json!({ "preset": "bootstrap-n16", "task": task() }),
        serde_json::json!({ "preset": PRESET, "task": { "classes": 3, "features": 8, "batch": 16 } }),
        serde_json::json!({ "role": "no preset" }),
    ] {
        assert_eq!(
            put(&s, &id, &t, "public.hbundle", 0, &container_with(FileKind::PublicBundle, 1000, meta.clone())).0,
            200
        );
        let (st, v) = complete(&s, &id, &t, "public.hbundle");
        assert_eq!(st, 422, "{meta}: {v}");
        let e = v["error"].as_str().unwrap();
        assert!(
            e.contains("but the job was created for preset insecure-train-n12") || e.contains("lacks 'preset'"),
            "{e}"
        );
        assert_eq!(received(&s, &id, &t, "public.hbundle"), 0, "the part is gone");
    }
    let (st, v) = {
        assert_eq!(put(&s, &id, &t, "public.hbundle", 0, &container(FileKind::PublicBundle, 1000)).0, 200);
        complete(&s, &id, &t, "public.hbundle")
    };
    assert_eq!(st, 200, "the declared preset and task: {v}");
    // An invalid manifest is refused.
    assert_eq!(put(&s, &id, &t, "job.json", 0, b"{\"format\": 1}").0, 200);
    let (st, v) = complete(&s, &id, &t, "job.json");
    assert_eq!(st, 422, "{v}");
    // The event log has each upload and refusal.
    let (_, v) = call(agent().get(&format!("{}/jobs/{id}", s.base)).set("Authorization", &auth(&t)).call());
    let kinds: Vec<&str> = v["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "refused").count(), 8, "{kinds:?}");
    assert!(kinds.contains(&"uploaded"));
}

#[test]
fn limits_refuse_without_losing_what_was_stored() {
    let limits = Limits { matrices: 1000, chunk: 600, ..Limits::default() };
    let s = start_with(data_dir("limits"), |c| c.limits = limits);
    let (id, t) = create(&s, "l");
    assert_eq!(put(&s, &id, &t, "init.hmat", 0, &[7; 500]).0, 200);
    // Over the file's limit, then over the chunk's: 413, and the 500 bytes stay.
    let (st, v) = put(&s, &id, &t, "init.hmat", 500, &[7; 501]);
    assert_eq!(st, 413, "{v}");
    assert_eq!(received(&s, &id, &t, "init.hmat"), 500);
    let (st, v) = put(&s, &id, &t, "val.hmat", 0, &[7; 700]);
    assert_eq!(st, 413, "{v}");
    assert!(v["error"].as_str().unwrap().contains("at most 600"), "{v}");
    assert_eq!(received(&s, &id, &t, "val.hmat"), 0);
    assert_eq!(put(&s, &id, &t, "init.hmat", 500, &[7; 500]).0, 200);
    assert_eq!(received(&s, &id, &t, "init.hmat"), 1000);
}

#[test]
fn jobs_survive_a_restart_and_other_addresses_are_refused() {
    let dir = data_dir("restart");
    let (id, t, base) = {
        let s = start_with(dir.clone(), |_| {});
        let (id, t) = create(&s, "kept");
        assert_eq!(put(&s, &id, &t, "init.hmat", 0, &[1; 300]).0, 200);
        (id, t, s.base.clone())
    };
    // The first service is gone; a second one on the same folder knows the job and its upload.
    assert!(agent().get(&format!("{base}/health")).call().is_err());
    let s = start_with(dir, |_| {});
    assert_eq!(received(&s, &id, &t, "init.hmat"), 300);
    let config = ServeConfig::new("0.0.0.0:0".parse().unwrap(), data_dir("open"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let e = rt.block_on(hetal_serve::bind(&config)).unwrap_err();
    assert!(e.to_string().contains("--insecure-http"), "{e}");
}

/// The client resumes an upload that a dropped connection (or its own crash) cut: it sends only
/// what the service lacks, in chunks, and the file arrives whole.
#[test]
fn the_client_resumes_where_the_service_stopped() {
    let s = start("client");
    let remote = hetal_serve::Remote::new(&s.base);
    let job = remote.create_job("c", (PRESET, &task()), None).unwrap();
    let bytes = container(FileKind::Matrices, 300_000);
    let file = s.dir.join("upload.hmat");
    std::fs::write(&file, &bytes).unwrap();
    // The first 100 000 bytes arrived before the connection broke.
    assert_eq!(put(&s, &job.id, &job.token, "val.hmat", 0, &bytes[..100_000]).0, 200);
    let mut chunks = Vec::new();
    let sent = remote.upload(&job, "val.hmat", &file, 64 << 10, &mut |done, total| chunks.push((done, total))).unwrap();
    assert_eq!(sent, bytes.len() as u64 - 100_000);
    assert_eq!(chunks.first(), Some(&(100_000 + (64 << 10), bytes.len() as u64)));
    assert_eq!(std::fs::read(s.dir.join("jobs").join(&job.id).join("job/val.hmat")).unwrap(), bytes);
    // Again: nothing to send.
    assert_eq!(remote.upload(&job, "val.hmat", &file, 64 << 10, &mut |_, _| {}).unwrap(), 0);
    // A refused file comes back as the service's message.
    std::fs::write(&file, container(FileKind::SecretKey, 10)).unwrap();
    let e = remote.upload(&job, "init.hmat", &file, 64 << 10, &mut |_, _| {}).unwrap_err();
    assert!(e.to_string().contains("HTTP 422") && e.to_string().contains("secret key"), "{e}");
    let wrong = hetal_serve::RemoteJob { token: "x".into(), ..job };
    assert!(remote.status(&wrong).unwrap_err().to_string().contains("HTTP 401"));
}

/// The training routes refuse what does not fit the job's state, with the reason.
#[test]
fn training_routes_refuse_out_of_turn() {
    let s = start("turns");
    let (id, t) = create(&s, "t");
    let post = |path: &str, body: Option<&str>| {
        let r = agent().post(&format!("{}/jobs/{id}/{path}", s.base)).set("Authorization", &auth(&t));
        call(match body {
            Some(b) => r.set("Content-Type", "application/json").send_string(b),
            None => r.call(),
        })
    };
    let (st, v) = post("start", None);
    assert_eq!(st, 409, "{v}");
    assert!(v["error"].as_str().unwrap().contains("the job is uploading"), "{v}");
    let (st, v) = post("answers/1", Some("{\"epoch\": 1, \"decision\": "));
    assert_eq!(st, 400, "{v}");
    let (st, v) = post("answers/1", Some("{\"epoch\": 2, \"decision\": \"continue\", \"best_so_far\": true}"));
    assert_eq!(st, 400, "{v}");
    let (st, v) = post("answers/1", Some("{\"epoch\": 1, \"decision\": \"maybe\", \"best_so_far\": true}"));
    assert_eq!(st, 400, "{v}");
    let (st, v) = post("answers/1", Some("{\"epoch\": 1, \"decision\": \"stop\", \"best_so_far\": true}"));
    assert_eq!(st, 409, "{v}");
    assert!(v["error"].as_str().unwrap().contains("no validation outputs"), "{v}");
    let big = format!(
        "{{\"epoch\": 1, \"decision\": \"stop\", \"best_so_far\": true, \"x\": \"{}\"}}",
        "a".repeat(100 << 10)
    );
    // Over 64 KB: 413, or the connection closed before the client finished sending.
    let r = agent()
        .post(&format!("{}/jobs/{id}/answers/1", s.base))
        .set("Authorization", &auth(&t))
        .set("Content-Type", "application/json")
        .send_string(&big);
    match r {
        Err(ureq::Error::Status(code, _)) => assert_eq!(code, 413),
        Err(ureq::Error::Transport(_)) => {}
        Ok(resp) => panic!("an answer over 64 KB was accepted: {}", resp.status()),
    }
    for (path, what) in [("model", "no model yet"), ("validation/1", "no validation outputs of epoch 1")] {
        let (st, v) = call(agent().get(&format!("{}/jobs/{id}/{path}", s.base)).set("Authorization", &auth(&t)).call());
        assert_eq!(st, 404, "{v}");
        assert!(v["error"].as_str().unwrap().contains(what), "{v}");
    }
    // Another job's token opens none of them.
    let (_, other) = create(&s, "o");
    let (st, _) = call(agent().get(&format!("{}/jobs/{id}/model", s.base)).set("Authorization", &auth(&other)).call());
    assert_eq!(st, 401);
    // The OpenAPI description names every route.
    let (_, doc) = call(agent().get(&format!("{}/openapi.json", s.base)).call());
    for p in ["/jobs/{id}/start", "/jobs/{id}/validation/{epoch}", "/jobs/{id}/answers/{epoch}", "/jobs/{id}/model"] {
        assert!(doc["paths"][p].is_object(), "{p} missing from openapi.json");
    }
}

/// With a certificate and a key the service speaks HTTPS only; the client trusts a given CA
/// (here the self-signed certificate itself) and refuses the service without it.
#[test]
fn tls_serves_https_to_a_client_that_trusts_its_certificate() {
    let dir = data_dir("tls");
    std::fs::create_dir_all(&dir).unwrap();
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    std::fs::write(dir.join("cert.pem"), ck.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), ck.key_pair.serialize_pem()).unwrap();
    let tls = hetal_serve::TlsFiles { cert: dir.join("cert.pem"), key: dir.join("key.pem") };
    let mut config = ServeConfig::new("127.0.0.1:0".parse().unwrap(), dir.join("data"));
    config.tls = Some(tls.clone());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let listener = rt.block_on(hetal_serve::bind(&config)).unwrap();
    let port = listener.local_addr().unwrap().port();
    rt.spawn(hetal_serve::serve_on(listener, config, std::future::pending()));
    let base = format!("https://127.0.0.1:{port}");
    let remote = hetal_serve::Remote::with_ca(&base, &tls.cert).unwrap();
    let t0 = std::time::Instant::now();
    let job = loop {
        match remote.create_job("tls", (PRESET, &task()), None) {
            Ok(j) => break j,
            Err(e) if t0.elapsed().as_secs() < 20 => {
                let _ = e;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) => panic!("no https service: {e}"),
        }
    };
    assert_eq!(remote.status(&job).unwrap()["job"]["state"], "uploading");
    // Without the certificate the client refuses the service; plain HTTP gets no answer.
    let e = hetal_serve::Remote::new(&base).create_job("x", (PRESET, &task()), None).unwrap_err();
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");
    assert!(hetal_serve::Remote::new(&format!("http://127.0.0.1:{port}"))
        .create_job("x", (PRESET, &task()), None)
        .is_err());
    // A key that is not there is a clear error at start.
    let mut bad = ServeConfig::new("127.0.0.1:0".parse().unwrap(), dir.join("data2"));
    bad.tls = Some(hetal_serve::TlsFiles { key: dir.join("missing.pem"), ..tls });
    let listener = rt.block_on(hetal_serve::bind(&bad)).unwrap();
    let e = rt.block_on(hetal_serve::serve_on(listener, bad, std::future::pending())).unwrap_err();
    assert!(e.to_string().contains("missing.pem"), "{e}");
}
