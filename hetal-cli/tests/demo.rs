//! Runs the `hetal` binary end to end.

use std::process::{Command, Output};

fn hetal(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hetal")).args(args).output().expect("the hetal binary runs")
}

#[test]
fn demo_round_trip_succeeds_with_precision() {
    let out = hetal(&["demo", "--preset", "insecure-test-n13", "--seed", "1"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "status {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}", out.status);
    assert!(stdout.contains("precision"), "{stdout}");
    assert!(stdout.contains("INSECURE"), "{stdout}");
    assert!(stdout.contains("ok: decrypted result matches"), "{stdout}");
}

#[test]
fn help_lists_the_demo() {
    let out = hetal(&["--help"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("demo"));
    let out = hetal(&["demo", "--help"]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("leveled-n14") && stdout.contains("--seed"), "{stdout}");
}

#[test]
fn unknown_preset_is_a_usage_error() {
    let out = hetal(&["demo", "--preset", "leveled-n99"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("leveled-n99"));
}
