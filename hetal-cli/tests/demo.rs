//! Runs the `hetal` binary end to end.

use std::process::{Command, Output};

fn hetal(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hetal")).args(args).output().expect("the hetal binary runs")
}

#[test]
fn roundtrip_succeeds_with_precision() {
    let out = hetal(&["roundtrip", "--preset", "insecure-test-n13", "--seed", "1"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "status {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}", out.status);
    assert!(stdout.contains("precision"), "{stdout}");
    assert!(stdout.contains("INSECURE"), "{stdout}");
    assert!(stdout.contains("ok: decrypted result matches"), "{stdout}");
}

#[test]
fn help_lists_every_command() {
    let out = hetal(&["--help"]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    for cmd in ["keygen", "encrypt", "train", "decrypt", "evaluate", "demo", "bench", "params", "roundtrip"] {
        assert!(stdout.contains(cmd), "{cmd} missing from:\n{stdout}");
    }
    let out = hetal(&["roundtrip", "--help"]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("leveled-n14") && stdout.contains("--seed"), "{stdout}");
    let out = hetal(&["demo", "--help"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("bootstrap-n16") && stdout.contains("insecure-train-n12"), "{stdout}");
}

/// The whole protocol in one process on a slice of the embedded data (one step, one epoch) at
/// the insecure test preset: both roles, bootstrapping, the client's answer, the comparison.
#[test]
fn demo_runs_the_protocol_on_the_embedded_data() {
    let dir = std::env::temp_dir().join(format!("hetal-demo-test-{}", std::process::id()));
    let out_dir = dir.to_string_lossy().into_owned();
    let out = hetal(&[
        "--seed",
        "3",
        "demo",
        "--preset",
        "insecure-train-n12",
        "--train-rows",
        "16",
        "--val-rows",
        "16",
        "--batch",
        "16",
        "--max-epochs",
        "1",
        "--out",
        &out_dir,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{}", String::from_utf8_lossy(&out.stderr));
    for needle in ["INSECURE", "[client]", "[server]", "never the secret key", "test accuracy: encrypted"] {
        assert!(stdout.contains(needle), "{needle} missing from:\n{stdout}");
    }
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("demo.json")).unwrap()).unwrap();
    assert_eq!(json["steps"], 1);
    // Encrypted and plaintext (approximate softmax) weights agree after bootstrapping.
    assert!(json["max_abs_weight_difference_vs_plaintext_approx"].as_f64().unwrap() < 1e-3, "{json}");
    assert!(dir.join("demo.svg").exists());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn unknown_preset_is_a_usage_error() {
    let out = hetal(&["roundtrip", "--preset", "leveled-n99"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("leveled-n99"));
}
