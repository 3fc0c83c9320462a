//! Runs `hetal bench` end to end on the insecure test presets and checks its JSON output.

use serde_json::Value;
use std::process::{Command, Output};

fn hetal(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hetal")).args(args).output().expect("the hetal binary runs")
}

/// Runs the command, requires success, and parses stdout as JSON.
fn json(args: &[&str]) -> Value {
    let out = hetal(args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "status {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}", out.status);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"))
}

fn result<'a>(doc: &'a Value, op: &str) -> &'a Value {
    let results = doc["results"].as_array().expect("results is an array");
    results.iter().find(|r| r["op"] == op).unwrap_or_else(|| panic!("no result for {op} in {results:?}"))
}

fn peers_file() -> String {
    format!("{}/data/peers.json", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn ops_suite_reports_every_operation_as_json() {
    let peers = peers_file();
    let args = ["bench", "--suite", "ops", "--preset", "insecure-test-n13", "--repeat", "1", "--hoist", "8", "--json"];
    let doc = json(&[&args[..], &["--compare", &peers]].concat());
    assert_eq!(doc["repeat"], 1);
    assert_eq!(doc["parameters"][0]["preset"], "insecure-test-n13");
    for op in [
        "keygen_relinearization",
        "keygen_rotation",
        "encode_encrypt",
        "decrypt_decode",
        "add",
        "mul_plain_rescale",
        "mul_relin_rescale",
        "mul_relin_rescale_low",
        "rotate",
        "rotate_low",
        "rotate_hoisted_4",
        "rotate_hoisted_8",
    ] {
        let r = result(&doc, op);
        let (min, median) = (r["min_ms"].as_f64().unwrap(), r["median_ms"].as_f64().unwrap());
        assert!(min > 0.0 && min <= median && median < 60_000.0, "{op}: {r}");
        assert_eq!(r["suite"], "ops");
        assert_eq!(r["preset"], "insecure-test-n13");
    }
    assert_eq!(result(&doc, "mul_relin_rescale")["level"], 10, "top level of InsecureTestN13");
    assert_eq!(result(&doc, "rotate_low")["level"], 2);
    assert_eq!(result(&doc, "encode_encrypt")["runs"], 1);
    // An addition is far cheaper than a key-switched product.
    assert!(result(&doc, "add")["median_ms"].as_f64() < result(&doc, "mul_relin_rescale")["median_ms"].as_f64());
    let comparison = doc["comparison"].as_array().expect("--compare adds a comparison");
    let mul = comparison.iter().find(|c| c["op"] == "mul_relin_rescale" && c["peer"] == "openfhe-t1").unwrap();
    let ratio = mul["ours_ms"].as_f64().unwrap() / mul["peer_ms"].as_f64().unwrap();
    assert!((mul["ratio"].as_f64().unwrap() - ratio).abs() < 1e-12, "{mul}");
    assert_eq!(mul["peer_ms"], 374.0);
}

#[test]
fn train_suite_times_one_checked_step() {
    let doc = json(&["bench", "--suite", "train", "--preset", "insecure-bootstrap-n12", "--json"]);
    let r = result(&doc, "train_step");
    assert!(r["median_ms"].as_f64().unwrap() > 0.0, "{r}");
    let detail = r["detail"].as_str().unwrap();
    assert!(detail.contains("32 rows") && detail.contains("bootstraps"), "{detail}");
    // A preset that cannot bootstrap is refused with a message.
    let out = hetal(&["bench", "--suite", "train", "--preset", "insecure-test-n13"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("bootstrap-n16"));
}

#[test]
fn bootstrap_suite_reports_precision_and_levels() {
    let doc = json(&["bench", "--suite", "bootstrap", "--preset", "insecure-bootstrap-n12", "--repeat", "1", "--json"]);
    let r = result(&doc, "bootstrap");
    assert!(r["median_ms"].as_f64().unwrap() > 0.0, "{r}");
    let bits = r["precision_bits"].as_f64().unwrap();
    assert!(bits > 10.0, "bootstrapping precision {bits} bits");
    // InsecureBootstrapN12 leaves 4 computation levels after bootstrapping.
    assert_eq!(r["levels_left"], 4, "{r}");
    assert!(result(&doc, "keygen_bootstrap")["detail"].as_str().unwrap().contains("Galois keys"));
    // SlotToCoeff first: input at level 3, the same 4 levels for computation above it.
    let slim = result(&doc, "bootstrap_slim");
    assert!(slim["precision_bits"].as_f64().unwrap() > 10.0, "{slim}");
    assert_eq!((slim["level"].as_u64(), slim["levels_left"].as_u64()), (Some(3), Some(4)), "{slim}");
    // Two real ciphertexts in one bootstrapping, in both orders, as precise and as deep.
    for (op, level) in [("bootstrap_pair", 0), ("bootstrap_pair_slim", 3)] {
        let pair = result(&doc, op);
        assert!(pair["precision_bits"].as_f64().unwrap() > 10.0, "{pair}");
        assert_eq!((pair["level"].as_u64(), pair["levels_left"].as_u64()), (Some(level), Some(4)), "{pair}");
        assert!(pair["detail"].as_str().unwrap().contains("x one bootstrap"), "{pair}");
    }
    assert!(doc.get("comparison").is_none());
}

/// Sparse slots (`--slots`, at most N/4 here): the halves share one EvalMod; the standard
/// order keeps its 4 levels for computation, SlotToCoeff first one fewer (the merge of the
/// halves). `--slots` is refused with the other suites and for a slot count the ring cannot hold.
#[test]
fn bootstrap_suite_times_sparse_slots() {
    let doc = json(&[
        "bench",
        "--suite",
        "bootstrap",
        "--preset",
        "insecure-bootstrap-n12",
        "--slots",
        "256",
        "--repeat",
        "1",
        "--json",
    ]);
    for (op, levels) in [("bootstrap", 4), ("bootstrap_slim", 3), ("bootstrap_pair", 4), ("bootstrap_pair_slim", 3)] {
        let r = result(&doc, op);
        assert!(r["precision_bits"].as_f64().unwrap() > 10.0, "{r}");
        assert_eq!(r["levels_left"].as_u64(), Some(levels), "{r}");
    }
    assert!(result(&doc, "bootstrap")["detail"].as_str().unwrap().contains("256 slots"));
    let out = hetal(&["bench", "--suite", "bootstrap,ops", "--preset", "insecure-test-n13", "--slots", "256"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--slots applies to the bootstrap suite only, not to ops"));
    let out = hetal(&["bench", "--suite", "bootstrap", "--preset", "insecure-bootstrap-n12", "--slots", "3000"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("3000"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn text_output_is_a_table_and_bad_options_fail() {
    let out = hetal(&["bench", "--suite", "ops", "--preset", "insecure-test-n13", "--repeat", "2", "--hoist", "2"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("median") && stdout.contains("ct x ct + relin + rescale"), "{stdout}");
    assert!(stdout.contains("2 hoisted rotations") && !stdout.contains("4 hoisted"), "{stdout}");

    let out = hetal(&["bench", "--compare", "/nonexistent/peers.json", "--preset", "insecure-test-n13"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/peers.json"));
    let out = hetal(&["bench", "--repeat", "0"]);
    assert!(!out.status.success(), "--repeat 0 is refused");
    let out = hetal(&["bench", "--suite", "matmul", "--shape", "128,768,6"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("power of two"));
    // A leveled preset cannot bootstrap: a typed error, not a panic.
    let out = hetal(&["bench", "--suite", "bootstrap", "--preset", "insecure-test-n13"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("hetal: error:") && !stderr.contains("panicked"), "{stderr}");
}

#[test]
fn matmul_suite_checks_and_counts_a_small_product() {
    let args = ["bench", "--suite", "matmul", "--preset", "insecure-test-n13", "--shape", "64,64,4", "--repeat", "1"];
    let doc = json(&[&args[..], &["--json"]].concat());
    for op in ["diag_abt_paper", "diag_abt", "diag_atb_paper", "diag_atb"] {
        let r = result(&doc, op);
        assert_eq!(r["level"], 4, "{r}");
        assert!(r["detail"].as_str().unwrap().contains("unit 64 x 64"), "{r}");
        assert!(r["median_ms"].as_f64().unwrap() > 0.0);
    }
    // The paper's row sum at (64, 64, 4), PRotUp (inputs at equal levels): 2 + 1 + 1 wrap
    // + 2 x 6 row-sum rotations; the shared one: 2 + 1 + 1 + 3 + 4.
    let rot = |op| {
        result(&doc, op)["detail"]
            .as_str()
            .unwrap()
            .split("Rot ")
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!((rot("diag_atb_paper"), rot("diag_atb")), ("16".to_string(), "11".to_string()));
}
