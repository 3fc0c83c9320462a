#!/usr/bin/env python3
"""Summarise a full `hetal` run folder for docs/RESULTS.md (standard library only).

A run folder is what `docs/results/run.sh` leaves: `keys/`, `job/` (with the server's
`report.json` and the client's `history.json`), `evaluation.json` and `evaluation.svg` from
`hetal evaluate`, `run.log` (timestamps of each phase) and the `*.time` files of GNU time
(`/usr/bin/time -v`: peak memory of keygen, encrypt and the server).

    python3 docs/results/collect.py RUN_DIR NAME [--manifest DATASET_DIR/manifest.json]

writes docs/results/NAME.json (the figures) and docs/results/NAME.svg (the curves), and prints
the figures. It reads only what the run wrote; nothing is recomputed.
"""

import json
import os
import re
import shutil
import sys
from datetime import datetime


def load(path):
    with open(path) as f:
        return json.load(f)


def peak_rss_gib(run):
    """The largest 'Maximum resident set size' over the run's GNU time files, per phase."""
    out = {}
    for name in sorted(os.listdir(run)):
        if not name.endswith(".time"):
            continue
        text = open(os.path.join(run, name)).read()
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
        if m:
            out[name[: -len(".time")]] = round(int(m.group(1)) / 1024**2, 2)
    return out


def wall_seconds(run):
    """From the first phase's timestamp in run.log to the last one ('=== done')."""
    stamps = re.findall(r"^=== .* (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)$", open(os.path.join(run, "run.log")).read(), re.M)
    if len(stamps) < 2:
        return None
    t = [datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ") for s in (stamps[0], stamps[-1])]
    return (t[1] - t[0]).total_seconds()


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def main():
    args = sys.argv[1:]
    manifest = None
    if "--manifest" in args:
        i = args.index("--manifest")
        manifest = load(args[i + 1])
        del args[i : i + 2]
    run, name = args
    job = load(os.path.join(run, "job", "job.json"))
    report = load(os.path.join(run, "job", "server", "report.json"))
    history = load(os.path.join(run, "job", "client", "history.json"))
    ev = load(os.path.join(run, "evaluation.json")) if os.path.exists(os.path.join(run, "evaluation.json")) else None
    steps = report["steps"]
    boots = sum(sum(s["bootstraps"]) for s in steps)
    step_secs = sum(s["seconds"][0] for s in steps)
    parts = [sum(s["seconds"][k] for s in steps) for k in range(1, 5)]
    epochs = sorted({s["epoch"] for s in steps})
    per_epoch = {e: [s for s in steps if s["epoch"] == e] for e in epochs}
    resumed = len(re.findall(r"^=== train .*--resume", open(os.path.join(run, "run.log")).read(), re.M))
    out = {
        "data": os.path.basename(ev["data"]) if ev else None,
        "classes": job["task"]["classes"],
        "features": job["task"]["features"],
        "rows": {"train": job["train_rows"], "val": job["val_rows"], "test": ev["test_rows"] if ev else None},
        "batch": job["task"]["batch"],
        "lr": job["hyper"]["lr"],
        "patience": job["hyper"]["patience"],
        "monitor": job["hyper"].get("monitor", "loss"),
        "softmax": job.get("softmax", "hetal"),
        "preset": job["preset"],
        "finished": report["finished"],
        "epochs": len(epochs),
        "best_epoch": report["best_epoch"] if report["finished"] else None,
        "steps": len(steps),
        "bootstraps": boots,
        "bootstraps_per_step": boots / max(len(steps), 1),
        "bootstraps_per_step_by_epoch": {e: sum(sum(s["bootstraps"]) for s in v) / len(v) for e, v in per_epoch.items()},
        "server_step_seconds": step_secs,
        "seconds_per_step": step_secs / max(len(steps), 1),
        "step_split_seconds": dict(zip(["matmul", "softmax", "bootstrap", "other"], parts)),
        "validation_seconds": sum(report["validation_seconds"]),
        "wall_seconds": wall_seconds(run),
        "peak_memory_gib": peak_rss_gib(run),
        "interrupted_and_resumed": resumed,
        "machine": f"{cpu_model()}, {os.cpu_count()} cores",
        "history": history,
    }
    if ev:
        enc = ev["encrypted"]["report"]["accuracy"]
        out["test_accuracy"] = {
            "encrypted": enc,
            "plaintext_same_softmax": ev["plaintext_approx"]["report"]["accuracy"] if ev.get("plaintext_approx") else None,
            "plaintext_exact_softmax": ev["plaintext"]["report"]["accuracy"] if ev.get("plaintext") else None,
        }
        for key in ("plaintext_approx", "plaintext"):
            if ev.get(key):
                out[f"{key}_best_epoch"] = ev[key]["best_epoch"]
                out[f"{key}_epochs"] = len(ev[key]["epochs"])
                out[f"{key}_curve"] = [
                    {"epoch": e["epoch"], "loss": e["val_loss"], "accuracy": e["val_accuracy"]} for e in ev[key]["epochs"]
                ]
    if manifest:
        out["manifest_baselines"] = {k: v.get("test_acc") for k, v in manifest.get("baselines", {}).items()}
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, f"{name}.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    svg = os.path.join(run, "evaluation.svg")
    if os.path.exists(svg):
        shutil.copy(svg, os.path.join(here, f"{name}.svg"))
    json.dump({k: v for k, v in out.items() if not k.endswith("curve") and k != "history"}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
