//! Reading the `.npy` arrays of a data-set folder with `npyz`: 2-D float features and 1-D
//! integer labels, checked for dtype, shape and finiteness.

use super::DataError;
use crate::matrix::Matrix;
use npyz::NpyFile;
use std::path::Path;

fn open(path: &Path) -> Result<NpyFile<std::io::BufReader<std::fs::File>>, DataError> {
    let file = std::fs::File::open(path).map_err(|source| DataError::Io { path: path.into(), source })?;
    NpyFile::new(std::io::BufReader::new(file)).map_err(|e| npy_error(path, e))
}

fn npy_error(path: &Path, e: std::io::Error) -> DataError {
    DataError::Npy { path: path.into(), reason: e.to_string() }
}

/// The `.npy` type string of a plain dtype (for example `<f4`), or its Python descriptor.
fn type_string<R: std::io::Read>(npy: &NpyFile<R>) -> String {
    match npy.dtype() {
        npyz::DType::Plain(ts) => ts.to_string(),
        other => other.descr(),
    }
}

fn check_c_order<R: std::io::Read>(path: &Path, npy: &NpyFile<R>) -> Result<(), DataError> {
    if npy.order() != npyz::Order::C && npy.shape().iter().filter(|&&d| d > 1).count() > 1 {
        return Err(DataError::Npy { path: path.into(), reason: "Fortran-ordered arrays are not supported".into() });
    }
    Ok(())
}

/// Reads a 2-D `float32` or `float64` array (rows = samples) into a [`Matrix`]. Errors name the
/// file: a wrong dtype, a shape that is not 2-D, a NaN or infinite value (with its position).
pub fn read_features(path: &Path) -> Result<Matrix, DataError> {
    features_from(path, open(path)?)
}

/// [`read_features`] on the bytes of a `.npy` file held in memory (a copy embedded in a
/// binary); `path` only names the array in errors.
pub fn features_from_bytes(path: &Path, bytes: &[u8]) -> Result<Matrix, DataError> {
    features_from(path, NpyFile::new(bytes).map_err(|e| npy_error(path, e))?)
}

fn features_from<R: std::io::Read>(path: &Path, npy: NpyFile<R>) -> Result<Matrix, DataError> {
    check_c_order(path, &npy)?;
    let shape = npy.shape().to_vec();
    if shape.len() != 2 {
        return Err(DataError::Shape { path: path.into(), expected: "2-D (samples, features)".into(), found: shape });
    }
    let (rows, cols) = (shape[0] as usize, shape[1] as usize);
    let descr = type_string(&npy);
    let data: Vec<f64> = match descr.trim_start_matches(['<', '>', '|', '=']) {
        "f4" => npy.into_vec::<f32>().map_err(|e| npy_error(path, e))?.into_iter().map(f64::from).collect(),
        "f8" => npy.into_vec::<f64>().map_err(|e| npy_error(path, e))?,
        _ => return Err(DataError::Dtype { path: path.into(), expected: "float32 or float64", found: descr }),
    };
    if let Some(k) = data.iter().position(|v| !v.is_finite()) {
        return Err(DataError::NonFinite {
            path: path.into(),
            row: k / cols.max(1),
            col: k % cols.max(1),
            value: data[k],
        });
    }
    Matrix::from_vec(rows, cols, data)
        .ok_or_else(|| DataError::Npy { path: path.into(), reason: "element count does not match the shape".into() })
}

/// Reads a 1-D `int64` or `int32` label array. Range checks are the caller's (they need the
/// class count): see [`check_labels`].
pub fn read_labels(path: &Path) -> Result<Vec<i64>, DataError> {
    labels_from(path, open(path)?)
}

/// [`read_labels`] on the bytes of a `.npy` file held in memory; `path` only names the array
/// in errors.
pub fn labels_from_bytes(path: &Path, bytes: &[u8]) -> Result<Vec<i64>, DataError> {
    labels_from(path, NpyFile::new(bytes).map_err(|e| npy_error(path, e))?)
}

fn labels_from<R: std::io::Read>(path: &Path, npy: NpyFile<R>) -> Result<Vec<i64>, DataError> {
    let shape = npy.shape().to_vec();
    if shape.len() != 1 {
        return Err(DataError::Shape { path: path.into(), expected: "1-D (samples)".into(), found: shape });
    }
    let descr = type_string(&npy);
    match descr.trim_start_matches(['<', '>', '|', '=']) {
        "i8" => npy.into_vec::<i64>().map_err(|e| npy_error(path, e)),
        "i4" => Ok(npy.into_vec::<i32>().map_err(|e| npy_error(path, e))?.into_iter().map(i64::from).collect()),
        _ => Err(DataError::Dtype { path: path.into(), expected: "int64 or int32", found: descr }),
    }
}

/// Labels as class indices, each in `0..classes`; the first one outside names its row.
pub fn check_labels(path: &Path, labels: &[i64], classes: usize) -> Result<Vec<usize>, DataError> {
    labels
        .iter()
        .enumerate()
        .map(|(row, &label)| {
            usize::try_from(label).ok().filter(|&l| l < classes).ok_or(DataError::LabelOutOfRange {
                path: path.into(),
                row,
                label,
                classes,
            })
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::path::PathBuf;

    /// Writes a `.npy` file with the given dtype descriptor, shape and raw little-endian bytes.
    pub(crate) fn write_npy(dir: &Path, name: &str, descr: &str, shape: &[usize], bytes: &[u8]) -> PathBuf {
        let shape_txt = match shape {
            [n] => format!("({n},)"),
            s => format!("({})", s.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
        };
        let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_txt}, }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(bytes);
        let path = dir.join(name);
        std::fs::write(&path, out).unwrap();
        path
    }

    pub(crate) fn f32_bytes(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    pub(crate) fn i64_bytes(v: &[i64]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    pub(crate) fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("hetal-train-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn reads_features_and_labels() {
        let dir = temp_dir("npy-ok");
        let x = write_npy(&dir, "x.npy", "<f4", &[2, 3], &f32_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]));
        let m = read_features(&x).unwrap();
        assert_eq!((m.rows, m.cols), (2, 3));
        assert_eq!(m.row(1), &[4.0, 5.0, 6.0]);
        let y = write_npy(&dir, "y.npy", "<i8", &[2], &i64_bytes(&[0, 2]));
        assert_eq!(read_labels(&y).unwrap(), vec![0, 2]);
    }

    #[test]
    fn reads_from_bytes_like_from_files() {
        let dir = temp_dir("npy-bytes");
        let x = write_npy(&dir, "x.npy", "<f4", &[2, 2], &f32_bytes(&[1.0, 2.0, 3.0, 4.0]));
        let y = write_npy(&dir, "y.npy", "<i8", &[2], &i64_bytes(&[1, 0]));
        let (xb, yb) = (std::fs::read(&x).unwrap(), std::fs::read(&y).unwrap());
        assert_eq!(features_from_bytes(&x, &xb).unwrap(), read_features(&x).unwrap());
        assert_eq!(labels_from_bytes(&y, &yb).unwrap(), vec![1, 0]);
        let name = Path::new("embedded/x.npy");
        let err = features_from_bytes(name, &xb[..xb.len() - 3]).unwrap_err();
        assert!(matches!(err, DataError::Npy { .. }) && err.to_string().contains("embedded/x.npy"), "{err}");
        assert!(matches!(features_from_bytes(name, &yb), Err(DataError::Shape { .. })));
        assert!(matches!(labels_from_bytes(name, b"junk"), Err(DataError::Npy { .. })));
    }

    #[test]
    fn typed_errors_name_the_problem() {
        let dir = temp_dir("npy-bad");
        let x = write_npy(&dir, "x1.npy", "<f4", &[3], &f32_bytes(&[1.0, 2.0, 3.0]));
        assert!(matches!(read_features(&x), Err(DataError::Shape { .. })));
        let x = write_npy(&dir, "x2.npy", "<i8", &[1, 1], &i64_bytes(&[1]));
        let err = read_features(&x).unwrap_err();
        assert!(matches!(err, DataError::Dtype { .. }), "{err}");
        assert!(err.to_string().contains("x2.npy"));
        let x = write_npy(&dir, "x3.npy", "<f4", &[2, 2], &f32_bytes(&[1.0, 2.0, f32::NAN, 0.0]));
        assert!(matches!(read_features(&x), Err(DataError::NonFinite { row: 1, col: 0, .. })));
        let y = write_npy(&dir, "y.npy", "<i8", &[3], &i64_bytes(&[0, 5, -1]));
        let labels = read_labels(&y).unwrap();
        assert!(matches!(check_labels(&y, &labels, 3), Err(DataError::LabelOutOfRange { row: 1, label: 5, .. })));
        assert!(matches!(read_features(&dir.join("missing.npy")), Err(DataError::Io { .. })));
        std::fs::write(dir.join("junk.npy"), b"not numpy").unwrap();
        assert!(matches!(read_features(&dir.join("junk.npy")), Err(DataError::Npy { .. })));
    }
}
