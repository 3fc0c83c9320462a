//! Helpers of the command-line tests: run the `hetal` binary in a folder, fresh temporary
//! folders, a small labelled CSV data set.
// Each test file uses its own subset of these.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn hetal(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hetal")).current_dir(dir).args(args).output().expect("the hetal binary runs")
}

pub fn ok(dir: &Path, args: &[&str]) -> String {
    let out = hetal(dir, args);
    let (so, se) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "hetal {args:?} failed: {:?}\nstdout:\n{so}\nstderr:\n{se}", out.status);
    so.into_owned()
}

pub fn fails(dir: &Path, args: &[&str]) -> String {
    let out = hetal(dir, args);
    assert!(!out.status.success(), "hetal {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn temp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hetal-workflow-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Three Gaussian blobs in 7 dimensions (deterministic), as CSV with a header.
pub fn write_csv(path: &Path, rows: usize, offset: usize) {
    write_csv_classes(path, rows, offset, 3);
}

/// [`write_csv`] with `classes` blobs (at most 7).
#[allow(dead_code)] // Not every test binary that includes this module calls it.
pub fn write_csv_classes(path: &Path, rows: usize, offset: usize, classes: usize) {
    let mut s = String::from("f0,f1,f2,f3,f4,f5,f6,label\n");
    for i in 0..rows {
        let label = (i + offset) % classes;
        let mut vals = Vec::new();
        for j in 0..7 {
            // A cheap deterministic pseudo-noise in [-0.5, 0.5].
            let h = ((i + offset) * 7919 + j * 104_729) % 1000;
            let noise = h as f64 / 1000.0 - 0.5;
            let centre = if j % classes == label { 2.0 } else { 0.0 };
            vals.push(format!("{:.4}", centre + noise));
        }
        s += &format!("{},{label}\n", vals.join(","));
    }
    std::fs::write(path, s).unwrap();
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// The golden model of `workflow.rs`'s `same_seed_same_model`: see there why and when it
/// moved. The protocol over HTTP ends with it too (`remote.rs`).
pub const GOLDEN_MODEL: &str = "4dd9b54c79326110469cf652965cc44c";

/// Keys and job of the golden run in `d`: seed 7, three epochs, HETAL's softmax named (the
/// model the golden value was taken with).
pub fn golden_keys_and_job(d: &Path) {
    write_csv(&d.join("train.csv"), 32, 0);
    write_csv(&d.join("val.csv"), 16, 100);
    let keygen = [
        "--seed",
        "7",
        "keygen",
        "--preset",
        "insecure-train-n12",
        "--classes",
        "3",
        "--features",
        "7",
        "--batch",
        "16",
    ];
    ok(d, &keygen);
    let encrypt = [
        "--seed",
        "7",
        "encrypt",
        "--train-csv",
        "train.csv",
        "--val-csv",
        "val.csv",
        "--max-epochs",
        "3",
        "--softmax",
        "hetal",
    ];
    ok(d, &encrypt);
}

/// The fingerprint of a decrypted model file.
pub fn model_fingerprint(npy: &Path) -> String {
    hetal_train::store::Fingerprint::of_bytes(&std::fs::read(npy).unwrap()).to_string()
}
