#!/usr/bin/env python3
"""Builds hetal-cli/data/digits/: the small real data set embedded in the `hetal` binary.

Source
    The `digits8x8_raw` folder of the project's shared data sets, itself the scikit-learn
    "digits" data (UCI Optical Recognition of Handwritten Digits, test part; Alpaydin and
    Kaynak 1998), bundled with scikit-learn 1.9.1 as sklearn/datasets/data/digits.csv.gz.
    Features: the 64 pixel intensities of an 8x8 image divided by 16 (0..1), float32.
    That folder's split: stratified by class, 1097 / 300 / 400 rows (numpy default_rng(20240501)).

Licence
    Data: CC BY 4.0 (UCI Machine Learning Repository, E. Alpaydin, C. Kaynak, "Optical
    Recognition of Handwritten Digits", 1998, https://doi.org/10.24432/C50P49).
    scikit-learn: BSD-3-Clause. The subset keeps the attribution in manifest.json and README.md.

Subset (the rule, applied to each split of the source folder in file order)
    * keep the rows whose label is 0, 1, 2 or 3, relabelled 0..3 in that order, so that the
      class count is 4, a power of two: no padded classes, and the encrypted softmax is shallow;
    * train: the first 512 such rows (there are 440, so all of them);
    * val: the first 128 such rows (there are 121, so all of them);
    * test: all such rows;
    * features unchanged (float32, 0..1); `hetal` scales them by the largest training row norm.

Output: {train,val,test}_{x,y}.npy (.npy format 1.0, little-endian float32 features and int64
labels, C order), manifest.json (source, licence, rule, sizes, class counts, SHA-256 of every
file written and of the source files read) and README.md.

Usage: python3 make_embedded.py [SOURCE_DIR] [OUT_DIR]
    SOURCE_DIR defaults to /work/shared/datasets/digits8x8_raw (or $HETAL_DATASETS/digits8x8_raw),
    OUT_DIR to the digits/ folder beside this script. Python 3 standard library only (no numpy):
    the .npy headers are parsed and written by hand. The output is deterministic: running it
    again gives byte-identical files.
"""

import ast
import hashlib
import json
import os
import struct
import sys

CLASSES = (0, 1, 2, 3)
LIMITS = {"train": 512, "val": 128, "test": None}
NAME = "digits-0123"
MAX_FOLDER_BYTES = 1 << 20


def read_npy(path):
    """Returns (descr, shape, payload bytes) of a C-ordered .npy file (format 1.x, 2.x or 3.x)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        raise ValueError(f"{path}: not a .npy file (bad magic)")
    major = data[6]
    if major == 1:
        (hlen,) = struct.unpack("<H", data[8:10])
        start = 10
    elif major in (2, 3):
        (hlen,) = struct.unpack("<I", data[8:12])
        start = 12
    else:
        raise ValueError(f"{path}: unsupported .npy version {major}")
    header = ast.literal_eval(data[start : start + hlen].decode("latin1"))
    if header["fortran_order"]:
        raise ValueError(f"{path}: Fortran order is not supported")
    return header["descr"], tuple(header["shape"]), data[start + hlen :]


def npy_bytes(descr, shape, payload):
    """A .npy 1.0 file: magic, version, header length, header padded so data starts at 64k."""
    shape_txt = f"({shape[0]},)" if len(shape) == 1 else "(" + ", ".join(str(d) for d in shape) + ")"
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_txt}, }}"
    total = 10 + len(header) + 1
    header += " " * ((64 - total % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1") + payload


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def subset(src, split, keep_cols=None):
    """Rows of `split` whose label is in CLASSES, relabelled, up to the split's limit; only the
    columns `keep_cols` (all if None)."""
    x_descr, x_shape, x_data = read_npy(os.path.join(src, f"{split}_x.npy"))
    y_descr, y_shape, y_data = read_npy(os.path.join(src, f"{split}_y.npy"))
    if x_descr != "<f4" or len(x_shape) != 2:
        raise ValueError(f"{split}_x.npy: expected 2-D <f4, found {x_descr} {x_shape}")
    if y_descr != "<i8" or y_shape != (x_shape[0],):
        raise ValueError(f"{split}_y.npy: expected <i8 of shape ({x_shape[0]},), found {y_descr} {y_shape}")
    rows, cols = x_shape
    labels = struct.unpack(f"<{rows}q", y_data[: 8 * rows])
    row_bytes = 4 * cols
    keep = [i for i, label in enumerate(labels) if label in CLASSES]
    if LIMITS[split] is not None:
        keep = keep[: LIMITS[split]]
    x = b"".join(x_data[i * row_bytes : (i + 1) * row_bytes] for i in keep)
    y = [CLASSES.index(labels[i]) for i in keep]
    features = struct.unpack(f"<{len(keep) * cols}f", x)
    if keep_cols is not None:
        features = tuple(features[r * cols + c] for r in range(len(keep)) for c in keep_cols)
        cols = len(keep_cols)
        x = struct.pack(f"<{len(features)}f", *features)
    norms = [sum(v * v for v in features[r * cols : (r + 1) * cols]) ** 0.5 for r in range(len(keep))]
    return {
        "x": npy_bytes("<f4", (len(keep), cols), x),
        "y": npy_bytes("<i8", (len(keep),), struct.pack(f"<{len(y)}q", *y)),
        "rows": len(keep),
        "cols": cols,
        "source_rows": len(labels),
        "class_counts": [y.count(k) for k in range(len(CLASSES))],
        "max_row_norm": max(norms),
        "range": (min(features), max(features)),
        "features": features,
    }


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_src = os.path.join(os.environ.get("HETAL_DATASETS", "/work/shared/datasets"), "digits8x8_raw")
    src = sys.argv[1] if len(sys.argv) > 1 else default_src
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "digits")
    with open(os.path.join(src, "manifest.json")) as f:
        upstream = json.load(f)
    os.makedirs(out, exist_ok=True)

    # Pixels that are 0 in every training image carry nothing; dropping them brings the 64
    # pixels plus the bias column to at most 64 columns, one ciphertext column block at the
    # demo's unit shapes (65 would need two, doubling the weight ciphertexts and bootstraps).
    probe = subset(src, "train")
    n, width = probe["rows"], probe["cols"]
    keep_cols = [c for c in range(width) if any(probe["features"][r * width + c] != 0.0 for r in range(n))]
    dropped = [c for c in range(width) if c not in keep_cols]
    splits = {s: subset(src, s, keep_cols) for s in ("train", "val", "test")}
    files = {}
    for split, d in splits.items():
        for part in ("x", "y"):
            name = f"{split}_{part}.npy"
            with open(os.path.join(out, name), "wb") as f:
                f.write(d[part])
            shape = [d["rows"], d["cols"]] if part == "x" else [d["rows"]]
            dtype = "float32" if part == "x" else "int64"
            files[name] = {"shape": shape, "dtype": dtype, "sha256": sha256(d[part])}
    source_files = {}
    for split in splits:
        for part in ("x", "y"):
            with open(os.path.join(src, f"{split}_{part}.npy"), "rb") as f:
                source_files[f"{split}_{part}.npy"] = sha256(f.read())

    manifest = {
        "name": NAME,
        "dataset": "scikit-learn digits, classes 0-3 (UCI Optical Recognition of Handwritten Digits, test part)",
        "task": "4-class digit classification, 8x8 images",
        "source": {
            "folder": "shared/datasets/digits8x8_raw",
            "upstream": upstream["source"],
            "split": upstream["split"],
            "files_sha256": source_files,
        },
        "licence": "data: CC BY 4.0 (UCI ML Repository, Alpaydin & Kaynak 1998, "
        "https://doi.org/10.24432/C50P49); scikit-learn BSD-3-Clause",
        "subset": "in each split of digits8x8_raw, in file order, the rows with label 0, 1, 2 or 3 "
        "(relabelled 0..3 in that order); train: the first 512 such rows, val: the first 128, "
        "test: all; the pixel columns that are 0 in every kept training row are dropped "
        f"(columns {dropped} of 0..63); other features unchanged (float32, pixel / 16)",
        "produced_by": "hetal-cli/data/make_embedded.py",
        "feature": f"{len(keep_cols)} of the 64 pixel intensities, scaled to 0..1 (raw, not divided by a row norm)",
        "kept_pixel_columns": keep_cols,
        "dim": splits["train"]["cols"],
        "n_classes": len(CLASSES),
        "class_names": [str(c) for c in CLASSES],
        "split_sizes": {s: d["rows"] for s, d in splits.items()},
        "source_split_sizes": {s: d["source_rows"] for s, d in splits.items()},
        "class_counts": {s: d["class_counts"] for s, d in splits.items()},
        "feature_stats_train": {
            "min": splits["train"]["range"][0],
            "max": splits["train"]["range"][1],
            "row_l2_norm_max": splits["train"]["max_row_norm"],
        },
        "files": files,
    }
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")

    sizes = {s: d["rows"] for s, d in splits.items()}
    readme = f"""# `{NAME}`: the data set embedded in `hetal`

A small real data set, so that `hetal demo` and the tutorial run without downloads:
handwritten digits 0, 1, 2 and 3 as 8x8 images, {len(keep_cols)} features (pixel intensity / 16, in 0..1;
the {len(dropped)} pixels that are 0 in every training image are dropped, see `manifest.json`).

| split | rows | class counts (0, 1, 2, 3) |
|---|---|---|
""" + "".join(
        f"| {s} | {d['rows']} | {', '.join(str(c) for c in d['class_counts'])} |\n" for s, d in splits.items()
    ) + f"""
* Files: `{{train,val,test}}_x.npy` (float32, rows x {len(keep_cols)}) and `{{train,val,test}}_y.npy` (int64
  labels 0..3), `.npy` format 1.0; `manifest.json` holds the class count, class names, sizes and
  the SHA-256 of every file.
* Source: the project's `shared/datasets/digits8x8_raw`, which is the scikit-learn "digits" data
  (UCI Optical Recognition of Handwritten Digits, test part) split 1097 / 300 / 400, stratified
  by class.
* Subset: in each split, in file order, the rows labelled 0-3 (relabelled 0..3 in that order);
  at most 512 training rows and 128 validation rows (all {sizes['train']} and {sizes['val']} qualify),
  all {sizes['test']} test rows; pixel columns {dropped} (0 in every training image) dropped, so
  that features plus the bias fit 64 columns. Four classes make the padded class count 4, so the encrypted softmax is shallow.
* Licence: the data is CC BY 4.0. Cite: E. Alpaydin, C. Kaynak, "Optical Recognition of
  Handwritten Digits", UCI Machine Learning Repository, 1998, https://doi.org/10.24432/C50P49.
  scikit-learn, which bundles it, is BSD-3-Clause.
* Rebuild: `python3 hetal-cli/data/make_embedded.py` (standard library only; byte-identical output).
* The `hetal` binary embeds these files and can write the folder out again, so its users get
  the data without the repository.
"""
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write(readme)

    total = sum(os.path.getsize(os.path.join(out, n)) for n in os.listdir(out))
    if total > MAX_FOLDER_BYTES:
        raise SystemExit(f"{out}: {total} bytes, over the {MAX_FOLDER_BYTES}-byte budget")
    print(f"wrote {out}: {sizes}, {total} bytes")


if __name__ == "__main__":
    main()
