//! The client/server workflow end to end through the `hetal` binary, at the INSECURE test
//! preset `insecure-train-n12` (real bootstrapping at N = 2^12) on a tiny synthetic CSV data
//! set: keygen -> encrypt -> train -> decrypt validation -> train --resume -> decrypt model ->
//! evaluate; an interrupted run resumes to the same model; bad inputs give clear errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn hetal(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hetal")).current_dir(dir).args(args).output().expect("the hetal binary runs")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = hetal(dir, args);
    let (so, se) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "hetal {args:?} failed: {:?}\nstdout:\n{so}\nstderr:\n{se}", out.status);
    so.into_owned()
}

fn fails(dir: &Path, args: &[&str]) -> String {
    let out = hetal(dir, args);
    assert!(!out.status.success(), "hetal {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn temp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hetal-workflow-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Three Gaussian blobs in 7 dimensions (deterministic), as CSV with a header.
fn write_csv(path: &Path, rows: usize, offset: usize) {
    let mut s = String::from("f0,f1,f2,f3,f4,f5,f6,label\n");
    for i in 0..rows {
        let label = (i + offset) % 3;
        let mut vals = Vec::new();
        for j in 0..7 {
            // A cheap deterministic pseudo-noise in [-0.5, 0.5].
            let h = ((i + offset) * 7919 + j * 104_729) % 1000;
            let noise = h as f64 / 1000.0 - 0.5;
            let centre = if j % 3 == label { 2.0 } else { 0.0 };
            vals.push(format!("{:.4}", centre + noise));
        }
        s += &format!("{},{label}\n", vals.join(","));
    }
    std::fs::write(path, s).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
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

#[test]
fn workflow_end_to_end_resume_and_errors() {
    let d = temp("e2e");
    write_csv(&d.join("train.csv"), 32, 0);
    write_csv(&d.join("val.csv"), 16, 100);
    let seed = ["--seed", "7"];
    let keygen = ["keygen", "--preset", "insecure-train-n12", "--classes", "3", "--features", "7", "--batch", "16"];
    let s = ok(&d, &[&seed[..], &keygen[..]].concat());
    assert!(s.contains("INSECURE") && s.contains("secret key"), "{s}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("keys/secret.hkey")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Keys are not replaced silently.
    assert!(fails(&d, &keygen).contains("--force"));

    let encrypt = ["encrypt", "--train-csv", "train.csv", "--val-csv", "val.csv", "--max-epochs", "1", "--job", "job"];
    ok(&d, &[&seed[..], &encrypt[..]].concat());
    let job: serde_json::Value = serde_json::from_slice(&std::fs::read(d.join("job/job.json")).unwrap()).unwrap();
    assert_eq!(job["batches"], 2);
    copy_dir(&d.join("job"), &d.join("job2"));

    // The server refuses the secret key, whatever the file is called.
    std::fs::copy(d.join("keys/secret.hkey"), d.join("bundle-not-really.hbundle")).unwrap();
    let e = fails(&d, &["train", "--job", "job", "--keys", "bundle-not-really.hbundle"]);
    assert!(e.contains("SECRET key") && e.contains("bundle-not-really.hbundle"), "{e}");

    // Epoch 1 (two steps), the client's answer (stop: max epochs 1), the final model.
    let s = ok(&d, &["train", "--job", "job", "--keys", "keys/public.hbundle"]);
    assert!(s.contains("epoch 1: 2 steps"), "{s}");
    let again = ok(&d, &["train", "--job", "job", "--keys", "keys/public.hbundle", "--resume"]);
    assert!(again.contains("waiting for the client's answer"), "{again}");
    let v = ok(&d, &["--json", "decrypt", "validation", "--job", "job"]);
    let v: serde_json::Value = serde_json::from_str(v.trim()).unwrap();
    assert_eq!(v["decision"], "stop");
    assert!(v["accuracy"].as_f64().unwrap() > 0.5, "{v}");
    let s = ok(&d, &["train", "--job", "job", "--keys", "keys/public.hbundle", "--resume"]);
    assert!(s.contains("training ended"), "{s}");
    ok(&d, &["decrypt", "model", "--job", "job", "--out", "model.npy"]);
    let s = ok(
        &d,
        &["evaluate", "--job", "job", "--model", "model.npy", "--train-csv", "train.csv", "--val-csv", "val.csv"],
    );
    assert!(s.contains("plaintext") && s.contains("test accuracy"), "{s}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(d.join("evaluation.json")).unwrap()).unwrap();
    let gap = report["accuracy_gap_points"].as_f64().unwrap();
    assert!(gap.abs() <= 10.0, "encrypted vs plaintext test accuracy gap {gap} points");
    assert!(d.join("evaluation.svg").exists());

    // An interrupted run (one step, then --resume) ends with the same model, bit for bit.
    let s = ok(&d, &["train", "--job", "job2", "--keys", "keys/public.hbundle", "--max-steps", "1"]);
    assert!(s.contains("--max-steps"), "{s}");
    assert!(fails(&d, &["train", "--job", "job2", "--keys", "keys/public.hbundle"]).contains("--resume"));
    ok(&d, &["train", "--job", "job2", "--keys", "keys/public.hbundle", "--resume"]);
    ok(&d, &["decrypt", "validation", "--job", "job2"]);
    ok(&d, &["train", "--job", "job2", "--keys", "keys/public.hbundle", "--resume"]);
    ok(&d, &["decrypt", "model", "--job", "job2", "--out", "model2.npy"]);
    assert_eq!(std::fs::read(d.join("model.npy")).unwrap(), std::fs::read(d.join("model2.npy")).unwrap());

    // A corrupt batch names the file; a truncated model file too.
    let batch = d.join("job2/batches/batch-0001.hmat");
    let mut bytes = std::fs::read(&batch).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&batch, &bytes).unwrap();
    std::fs::remove_dir_all(d.join("job2/server")).unwrap();
    let e = fails(&d, &["train", "--job", "job2", "--keys", "keys/public.hbundle", "--max-steps", "2"]);
    assert!(e.contains("batch-0001.hmat") || e.contains("--max-steps"), "{e}");
    let model = d.join("job/server/model.hmat");
    let bytes = std::fs::read(&model).unwrap();
    std::fs::write(&model, &bytes[..bytes.len() - 100]).unwrap();
    let e = fails(&d, &["decrypt", "model", "--job", "job", "--out", "m3.npy"]);
    assert!(e.contains("model.hmat") && e.contains("corrupt"), "{e}");

    // Keys made for another task shape do not fit the job: the server says which.
    ok(
        &d,
        &[
            "keygen",
            "--preset",
            "insecure-train-n12",
            "--classes",
            "2",
            "--features",
            "7",
            "--batch",
            "16",
            "--out",
            "keys2",
        ],
    );
    let e = fails(&d, &["train", "--job", "job", "--keys", "keys2/public.hbundle", "--resume"]);
    assert!(e.contains("keys2/public.hbundle") && e.contains("made for"), "{e}");

    // Data that does not fit the keys.
    write_csv(&d.join("wide.csv"), 8, 0);
    let text =
        std::fs::read_to_string(d.join("wide.csv")).unwrap().replace("label", "f7,label").replace(",0\n", ",1,0\n");
    std::fs::write(d.join("wide.csv"), text).unwrap();
    let e = fails(&d, &["encrypt", "--train-csv", "wide.csv", "--val-csv", "val.csv", "--job", "job3"]);
    assert!(e.contains("wide.csv") || e.contains("features"), "{e}");
    std::fs::remove_dir_all(&d).unwrap();
}
