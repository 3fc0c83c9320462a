//! A bounded load test on loopback: `POLLERS` clients poll a job's status as fast as they can
//! while one client uploads a file in 1 MB chunks, for a fixed time. No request may fail, the
//! upload must arrive whole, and the process's memory must stay bounded. Prints requests per
//! second and latency percentiles (docs/BENCHMARKS.md records a 30-second run):
//!
//! ```text
//! HETAL_LOAD_SECONDS=30 cargo test --release -p hetal-serve --test load -- --nocapture
//! ```
//!
//! The default is 5 seconds, for CI.

mod common;

use common::{data_dir, start_with, task, PRESET};
use std::time::{Duration, Instant};

const POLLERS: usize = 8;

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[test]
fn pollers_and_an_upload_for_a_fixed_time() {
    let seconds: u64 = std::env::var("HETAL_LOAD_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5).clamp(1, 600);
    let s = start_with(data_dir("load"), |_| {});
    let (base, dir) = (s.base.clone(), s.dir.clone());
    let remote = hetal_serve::Remote::new(&base);
    let job = remote.create_job("load", (PRESET, &task()), None).unwrap();
    let rss0 = rss_kb();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let pollers: Vec<_> = (0..POLLERS)
        .map(|_| {
            let (base, job) = (base.clone(), job.clone());
            std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).build();
                let url = format!("{base}/jobs/{}", job.id);
                let mut lat = Vec::new();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let r = agent.get(&url).set("Authorization", &format!("Bearer {}", job.token)).call();
                    let resp = r.unwrap_or_else(|e| panic!("a status request failed: {e}"));
                    assert_eq!(resp.status(), 200);
                    resp.into_string().unwrap();
                    lat.push(t.elapsed());
                }
                lat
            })
        })
        .collect();
    // The upload: 1 MB chunks of one growing part file until the time is up.
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).build();
    let url = format!("{base}/jobs/{}/files/init.hmat", job.id);
    let chunk: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    let mut sent = 0u64;
    while Instant::now() < deadline {
        let r = agent
            .put(&format!("{url}?offset={sent}"))
            .set("Authorization", &format!("Bearer {}", job.token))
            .send_bytes(&chunk);
        assert_eq!(r.unwrap_or_else(|e| panic!("an upload chunk failed: {e}")).status(), 200);
        sent += chunk.len() as u64;
    }
    let mut lat: Vec<Duration> = pollers.into_iter().flat_map(|h| h.join().unwrap()).collect();
    let rss1 = rss_kb();
    lat.sort();
    let q = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)].as_secs_f64() * 1e3;
    let rps = lat.len() as f64 / seconds as f64;
    println!(
        "load: {seconds} s, {POLLERS} pollers: {} status requests ({rps:.0}/s), p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; \
         upload {} MB ({:.0} MB/s); RSS {} -> {} MB",
        lat.len(),
        q(0.5),
        q(0.99),
        q(1.0),
        sent >> 20,
        (sent >> 20) as f64 / seconds as f64,
        rss0 >> 10,
        rss1 >> 10
    );
    assert!(!lat.is_empty() && sent > 0);
    let held = std::fs::metadata(dir.join("jobs").join(&job.id).join("job/init.hmat.part")).unwrap().len();
    assert_eq!(held, sent, "every chunk arrived");
    // Chunks are streamed to disk, not held: memory grows by far less than what was uploaded.
    assert!(rss1.saturating_sub(rss0) < 256 << 10, "RSS grew from {rss0} to {rss1} kB");
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}
