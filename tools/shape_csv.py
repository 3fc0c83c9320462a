#!/usr/bin/env python3
"""Writes train/val CSV files of a given shape from a shared data-set folder, for timing one
encrypted training step at the paper's shapes with the `hetal` command (docs/BENCHMARKS.md).

Usage: python3 tools/shape_csv.py SRC_DIR OUT_DIR --classes K --features F --train N --val M

Keeps the rows whose label is below K (in file order), the first F feature columns, the first
N training and M validation rows; writes OUT_DIR/train.csv and OUT_DIR/val.csv (header f0..,
label). Standard library only (the .npy header is parsed by hand).
"""

import argparse
import ast
import os
import struct


def read_npy(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        raise SystemExit(f"{path}: not a .npy file")
    major = data[6]
    hlen = struct.unpack("<H" if major == 1 else "<I", data[8:10] if major == 1 else data[8:12])[0]
    start = (10 if major == 1 else 12) + hlen
    header = ast.literal_eval(data[(10 if major == 1 else 12):start].decode("latin1"))
    return header["descr"], header["shape"], data[start:]


def rows(src, split, classes, features, limit):
    _, (n, cols), x = read_npy(os.path.join(src, f"{split}_x.npy"))
    _, _, y = read_npy(os.path.join(src, f"{split}_y.npy"))
    labels = struct.unpack(f"<{n}q", y[: 8 * n])
    out = []
    for i, label in enumerate(labels):
        if label < classes and len(out) < limit:
            vals = struct.unpack(f"<{cols}f", x[4 * cols * i : 4 * cols * (i + 1)])[:features]
            out.append(",".join(f"{v:.6g}" for v in vals) + f",{label}")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("out")
    ap.add_argument("--classes", type=int, required=True)
    ap.add_argument("--features", type=int, required=True)
    ap.add_argument("--train", type=int, required=True)
    ap.add_argument("--val", type=int, required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    header = ",".join(f"f{j}" for j in range(a.features)) + ",label\n"
    for split, limit in (("train", a.train), ("val", a.val)):
        lines = rows(a.src, split, a.classes, a.features, limit)
        with open(os.path.join(a.out, f"{split}.csv"), "w") as f:
            f.write(header + "\n".join(lines) + "\n")
        print(f"{split}: {len(lines)} rows")


if __name__ == "__main__":
    main()
