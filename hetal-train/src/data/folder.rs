//! Loading a data-set folder of `shared/datasets`: `{train,val,test}_{x,y}.npy` plus the class
//! count from `manifest.json` when there is one.

use super::limits::{read_text, within, MAX_CLASSES, MAX_MANIFEST_BYTES};
use super::npy::{check_labels, features_from_bytes, labels_from_bytes, read_features, read_labels};
use super::{DataError, Dataset, Split};
use crate::matrix::Matrix;
use std::path::Path;

/// The value of the integer field `"n_classes"` in a `manifest.json`, found by a plain text
/// scan (the manifests are flat enough; no JSON dependency). `None` if absent or unreadable
/// (a manifest over 1 MiB is not read).
fn manifest_classes(dir: &Path) -> Option<usize> {
    let text = read_text(&dir.join("manifest.json"), MAX_MANIFEST_BYTES).ok()?;
    let rest = &text[text.find("\"n_classes\"")? + "\"n_classes\"".len()..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

/// The splits, in the order of every list of them.
const SPLITS: [&str; 3] = ["train", "val", "test"];

/// Loads `dir/{train,val,test}_{x,y}.npy`. The class count is `n_classes` of
/// `dir/manifest.json` if present, otherwise one more than the largest training label. Checks:
/// features 2-D float32/float64 and finite, labels 1-D int64/int32 in `0..classes`, as many
/// labels as feature rows, the same feature width in every split, no empty split, at most
/// [`MAX_CLASSES`] classes, and the size limits of [`read_features`].
pub fn load_npy_dir(dir: &Path) -> Result<Dataset, DataError> {
    let raw: Vec<(Matrix, Vec<i64>)> = SPLITS
        .iter()
        .map(|split| {
            let (xp, yp) = (dir.join(format!("{split}_x.npy")), dir.join(format!("{split}_y.npy")));
            Ok((read_features(&xp)?, read_labels(&yp)?))
        })
        .collect::<Result<_, DataError>>()?;
    assemble(dir, raw, manifest_classes(dir))
}

/// [`load_npy_dir`] on `.npy` files held in memory (a data set embedded in a binary): `files`
/// are the bytes of `(x, y)` for train, val and test, `classes` the class count (`None`: one
/// more than the largest training label). `source` names the set (its last component becomes
/// [`Dataset::name`]) and, joined with `train_x.npy` and so on, the arrays in errors. The
/// checks are those of [`load_npy_dir`].
pub fn load_npy_bytes(source: &Path, files: [(&[u8], &[u8]); 3], classes: Option<usize>) -> Result<Dataset, DataError> {
    let raw: Vec<(Matrix, Vec<i64>)> = SPLITS
        .iter()
        .zip(files)
        .map(|(split, (x, y))| {
            let (xp, yp) = (source.join(format!("{split}_x.npy")), source.join(format!("{split}_y.npy")));
            Ok((features_from_bytes(&xp, x)?, labels_from_bytes(&yp, y)?))
        })
        .collect::<Result<_, DataError>>()?;
    assemble(source, raw, classes)
}

/// Checks the arrays of the three splits against each other and the class count, and builds
/// the data set. `dir` names the files in errors.
fn assemble(dir: &Path, raw: Vec<(Matrix, Vec<i64>)>, classes: Option<usize>) -> Result<Dataset, DataError> {
    for ((x, y), split) in raw.iter().zip(SPLITS) {
        let (xp, yp) = (dir.join(format!("{split}_x.npy")), dir.join(format!("{split}_y.npy")));
        if x.rows != y.len() {
            let expected = format!("({},) to match the {} rows of {}", x.rows, x.rows, xp.display());
            return Err(DataError::Shape { path: yp, expected, found: vec![y.len() as u64] });
        }
        if x.rows == 0 {
            return Err(DataError::Empty { path: xp, reason: "split has no samples".into() });
        }
    }
    let width = raw[0].0.cols;
    for ((x, _), split) in raw.iter().zip(SPLITS) {
        if x.cols != width {
            return Err(DataError::Shape {
                path: dir.join(format!("{split}_x.npy")),
                expected: format!("(samples, {width}) like train_x.npy"),
                found: vec![x.rows as u64, x.cols as u64],
            });
        }
    }
    let (classes, source) = match classes {
        Some(c) => (c, dir.join("manifest.json")),
        // One more than the largest label (saturating: too many classes either way).
        None => {
            let most =
                raw[0].1.iter().map(|&l| usize::try_from(l.max(0)).map_or(usize::MAX, |l| l.saturating_add(1))).max();
            (most.unwrap_or(0), dir.join("train_y.npy"))
        }
    };
    within(&source, "class count", classes as u64, MAX_CLASSES as u64)?;
    if classes == 0 {
        return Err(DataError::Empty { path: dir.into(), reason: "class count is zero".into() });
    }
    let mut splits = raw.into_iter().zip(SPLITS).map(|((x, y), split)| {
        let y = check_labels(&dir.join(format!("{split}_y.npy")), &y, classes)?;
        Ok::<_, DataError>(Split { x, y })
    });
    let (train, val, test) = (splits.next().unwrap()?, splits.next().unwrap()?, splits.next().unwrap()?);
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(Dataset { name, classes, train, val, test })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::npy::tests::{f32_bytes, i64_bytes, temp_dir, write_npy};

    fn write_split(dir: &Path, split: &str, rows: usize, cols: usize, labels: &[i64]) {
        let x: Vec<f32> = (0..rows * cols).map(|i| i as f32).collect();
        write_npy(dir, &format!("{split}_x.npy"), "<f4", &[rows, cols], &f32_bytes(&x));
        write_npy(dir, &format!("{split}_y.npy"), "<i8", &[labels.len()], &i64_bytes(labels));
    }

    #[test]
    fn loads_a_folder_and_checks_consistency() {
        let dir = temp_dir("folder-ok");
        write_split(&dir, "train", 3, 2, &[0, 1, 2]);
        write_split(&dir, "val", 1, 2, &[1]);
        write_split(&dir, "test", 2, 2, &[2, 0]);
        let ds = load_npy_dir(&dir).unwrap();
        assert_eq!((ds.classes, ds.features(), ds.padded_classes()), (3, 2, 4));
        assert_eq!(ds.test.y, vec![2, 0]);

        std::fs::write(dir.join("manifest.json"), "{\"n_classes\": 2}").unwrap();
        let err = load_npy_dir(&dir).unwrap_err();
        assert!(matches!(err, DataError::LabelOutOfRange { label: 2, classes: 2, .. }), "{err}");
        std::fs::remove_file(dir.join("manifest.json")).unwrap();

        write_split(&dir, "val", 1, 3, &[1]);
        assert!(matches!(load_npy_dir(&dir), Err(DataError::Shape { .. })));
        write_split(&dir, "val", 2, 2, &[1]);
        let err = load_npy_dir(&dir).unwrap_err();
        assert!(err.to_string().contains("val_y.npy"), "{err}");
    }

    #[test]
    fn loads_from_bytes_with_the_same_checks() {
        let dir = temp_dir("folder-bytes");
        write_split(&dir, "train", 3, 2, &[0, 1, 2]);
        write_split(&dir, "val", 1, 2, &[1]);
        write_split(&dir, "test", 2, 2, &[2, 0]);
        let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
        let b: Vec<Vec<u8>> = ["train_x", "train_y", "val_x", "val_y", "test_x", "test_y"]
            .iter()
            .map(|n| read(&format!("{n}.npy")))
            .collect();
        let files = [(&b[0][..], &b[1][..]), (&b[2][..], &b[3][..]), (&b[4][..], &b[5][..])];
        let source = Path::new("embedded/tiny");
        let ds = load_npy_bytes(source, files, Some(4)).unwrap();
        let from_dir = load_npy_dir(&dir).unwrap();
        assert_eq!((ds.name.as_str(), ds.classes), ("tiny", 4));
        assert_eq!((ds.train.x, ds.test.y), (from_dir.train.x, from_dir.test.y));
        assert_eq!(load_npy_bytes(source, files, None).unwrap().classes, 3);
        let err = load_npy_bytes(source, files, Some(2)).unwrap_err();
        assert!(matches!(err, DataError::LabelOutOfRange { label: 2, .. }), "{err}");
        assert!(err.to_string().contains("embedded/tiny/train_y.npy"), "{err}");
        // val_x (1 row) with the 2 labels of test: the mismatch names val_y.npy.
        let swapped = [files[0], (files[1].0, files[2].1), files[2]];
        let err = load_npy_bytes(source, swapped, None).unwrap_err();
        assert!(matches!(err, DataError::Shape { .. }) && err.to_string().contains("val_y.npy"), "{err}");
    }

    #[test]
    fn class_counts_are_bounded() {
        let dir = temp_dir("folder-classes");
        write_split(&dir, "train", 2, 2, &[0, 1]);
        write_split(&dir, "val", 1, 2, &[1]);
        write_split(&dir, "test", 1, 2, &[0]);
        std::fs::write(dir.join("manifest.json"), "{\"n_classes\": 18446744073709551615}").unwrap();
        let err = load_npy_dir(&dir).unwrap_err();
        assert!(matches!(err, DataError::TooLarge { what: "class count", .. }), "{err}");
        assert!(err.to_string().contains("manifest.json"), "{err}");
        std::fs::remove_file(dir.join("manifest.json")).unwrap();
        write_split(&dir, "train", 2, 2, &[0, i64::MAX]);
        let err = load_npy_dir(&dir).unwrap_err();
        assert!(matches!(err, DataError::TooLarge { what: "class count", .. }), "{err}");
        assert!(err.to_string().contains("train_y.npy"), "{err}");
        write_split(&dir, "train", 2, 2, &[0, MAX_CLASSES as i64 - 1]);
        assert_eq!(load_npy_dir(&dir).unwrap().classes, MAX_CLASSES);
    }
}
