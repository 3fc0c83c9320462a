//! Loading a data-set folder of `shared/datasets`: `{train,val,test}_{x,y}.npy` plus the class
//! count from `manifest.json` when there is one.

use super::npy::{check_labels, read_features, read_labels};
use super::{DataError, Dataset, Split};
use crate::matrix::Matrix;
use std::path::Path;

/// The value of the integer field `"n_classes"` in a `manifest.json`, found by a plain text
/// scan (the manifests are flat enough; no JSON dependency). `None` if absent or unreadable.
fn manifest_classes(dir: &Path) -> Option<usize> {
    let text = std::fs::read_to_string(dir.join("manifest.json")).ok()?;
    let rest = &text[text.find("\"n_classes\"")? + "\"n_classes\"".len()..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

/// Loads `dir/{train,val,test}_{x,y}.npy`. The class count is `n_classes` of
/// `dir/manifest.json` if present, otherwise one more than the largest training label. Checks:
/// features 2-D float32/float64 and finite, labels 1-D int64/int32 in `0..classes`, as many
/// labels as feature rows, the same feature width in every split, no empty split.
pub fn load_npy_dir(dir: &Path) -> Result<Dataset, DataError> {
    let raw: Vec<(Matrix, Vec<i64>)> = ["train", "val", "test"]
        .iter()
        .map(|split| {
            let (xp, yp) = (dir.join(format!("{split}_x.npy")), dir.join(format!("{split}_y.npy")));
            let (x, y) = (read_features(&xp)?, read_labels(&yp)?);
            if x.rows != y.len() {
                let expected = format!("({},) to match the {} rows of {}", x.rows, x.rows, xp.display());
                return Err(DataError::Shape { path: yp, expected, found: vec![y.len() as u64] });
            }
            if x.rows == 0 {
                return Err(DataError::Empty { path: xp, reason: "split has no samples".into() });
            }
            Ok((x, y))
        })
        .collect::<Result<_, _>>()?;
    let width = raw[0].0.cols;
    for ((x, _), split) in raw.iter().zip(["train", "val", "test"]) {
        if x.cols != width {
            return Err(DataError::Shape {
                path: dir.join(format!("{split}_x.npy")),
                expected: format!("(samples, {width}) like train_x.npy"),
                found: vec![x.rows as u64, x.cols as u64],
            });
        }
    }
    let classes =
        manifest_classes(dir).unwrap_or_else(|| raw[0].1.iter().map(|&l| l.max(0) as usize + 1).max().unwrap_or(0));
    if classes == 0 {
        return Err(DataError::Empty { path: dir.into(), reason: "class count is zero".into() });
    }
    let mut splits = raw.into_iter().zip(["train", "val", "test"]).map(|((x, y), split)| {
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
}
