//! Reading a labelled CSV file: a header row, then one sample per line, numeric features and an
//! integer class label (the last column, or a column named in the header).

use super::limits::{read_text, within, MAX_CSV_BYTES, MAX_CSV_COLUMNS};
use super::{DataError, Split};
use crate::matrix::Matrix;
use std::path::Path;

/// Which column of a CSV file holds the class label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LabelColumn {
    /// The last column.
    Last,
    /// The column with this header name.
    Named(String),
}

/// Reads `path`: comma-separated, first line a header, every other non-empty line a sample with
/// as many fields as the header. Features must parse as finite numbers and the label as an
/// integer in `0..classes`. Errors name the file and the line; a line with another number of
/// fields than the header is [`DataError::FieldCount`]. The file is at most [`MAX_CSV_BYTES`]
/// and the header at most [`MAX_CSV_COLUMNS`] columns (checked before they are read / split).
pub fn load_csv(path: &Path, label: &LabelColumn, classes: usize) -> Result<Split, DataError> {
    read_csv(path, label, classes, None)
}

/// [`load_csv`] for data that must have `expected_features` feature columns (the header's
/// columns less the label): for example a validation or test CSV, which must match the
/// training data and the keys' task. Another width is refused from the header, before any row
/// is read, with [`DataError::FeatureCount`] naming the file and both counts.
pub fn load_csv_with_features(
    path: &Path,
    label: &LabelColumn,
    classes: usize,
    expected_features: usize,
) -> Result<Split, DataError> {
    read_csv(path, label, classes, Some(expected_features))
}

/// Checks that `x` (loaded from `path`, which names it in the error) has `expected` feature
/// columns: [`DataError::FeatureCount`] with both counts otherwise. For data loaded by other
/// means than [`load_csv_with_features`] (a `.npy` folder, a CSV already read).
pub fn check_feature_count(path: &Path, x: &Matrix, expected: usize) -> Result<(), DataError> {
    feature_count(path, x.cols, expected)
}

fn feature_count(path: &Path, found: usize, expected: usize) -> Result<(), DataError> {
    if found != expected {
        return Err(DataError::FeatureCount { path: path.into(), expected, found });
    }
    Ok(())
}

fn read_csv(path: &Path, label: &LabelColumn, classes: usize, features: Option<usize>) -> Result<Split, DataError> {
    let text = read_text(path, MAX_CSV_BYTES)?;
    let err = |line: usize, reason: String| DataError::Csv { path: path.into(), line, reason };
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end_matches('\r')));
    let (_, header) = lines.next().ok_or_else(|| err(1, "empty file: no header row".into()))?;
    let columns = header.split(',').count();
    within(path, "number of header columns", columns as u64, MAX_CSV_COLUMNS as u64)?;
    if columns < 2 {
        return Err(err(1, "need at least one feature column and a label column".into()));
    }
    let label_col = match label {
        LabelColumn::Last => columns - 1,
        LabelColumn::Named(name) => header
            .split(',')
            .position(|n| n.trim().trim_matches('"') == name)
            .ok_or_else(|| err(1, format!("no label column named {name:?} in the header")))?,
    };
    if let Some(expected) = features {
        feature_count(path, columns - 1, expected)?;
    }
    let mut data = Vec::new();
    let mut y = Vec::new();
    for (line, text) in lines.filter(|(_, l)| !l.trim().is_empty()) {
        // Counted without allocating, however many fields the line has.
        let found = text.split(',').count();
        if found != columns {
            return Err(DataError::FieldCount { path: path.into(), line, expected: columns, found });
        }
        let row = y.len();
        for (col, field) in text.split(',').map(str::trim).enumerate() {
            if col == label_col {
                let value: i64 = field.parse().map_err(|_| err(line, format!("label {field:?} is not an integer")))?;
                let class = usize::try_from(value).ok().filter(|&c| c < classes).ok_or(DataError::LabelOutOfRange {
                    path: path.into(),
                    row,
                    label: value,
                    classes,
                })?;
                y.push(class);
            } else {
                let value: f64 =
                    field.parse().map_err(|_| err(line, format!("column {col}: {field:?} is not a number")))?;
                if !value.is_finite() {
                    return Err(DataError::NonFinite { path: path.into(), row, col, value });
                }
                data.push(value);
            }
        }
    }
    if y.is_empty() {
        return Err(DataError::Empty { path: path.into(), reason: "no data rows after the header".into() });
    }
    let (rows, cols) = (y.len(), columns - 1);
    let found = vec![data.len() as u64];
    let x = Matrix::from_vec(rows, cols, data).ok_or_else(|| DataError::Shape {
        path: path.into(),
        expected: format!("{rows} x {cols} values"),
        found,
    })?;
    Ok(Split { x, y })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::npy::tests::temp_dir;

    #[test]
    fn reads_last_and_named_label_columns() {
        let dir = temp_dir("csv");
        let p = dir.join("a.csv");
        std::fs::write(&p, "f0,label,f1\n1.5,2,3\n-1,0,1\n\n").unwrap();
        let s = load_csv(&p, &LabelColumn::Named("label".into()), 3).unwrap();
        assert_eq!(s.y, vec![2, 0]);
        assert_eq!(s.x.data, vec![1.5, 3.0, -1.0, 1.0]);
        let s = load_csv(&p, &LabelColumn::Last, 4).unwrap();
        assert_eq!((s.x.cols, s.y.clone()), (2, vec![3, 1]));
    }

    #[test]
    fn typed_errors() {
        let dir = temp_dir("csv-bad");
        let p = dir.join("b.csv");
        std::fs::write(&p, "f0,y\n1,7\n").unwrap();
        assert!(matches!(load_csv(&p, &LabelColumn::Last, 2), Err(DataError::LabelOutOfRange { label: 7, .. })));
        std::fs::write(&p, "f0,y\nnan,1\n").unwrap();
        assert!(matches!(load_csv(&p, &LabelColumn::Last, 2), Err(DataError::NonFinite { .. })));
        std::fs::write(&p, "y,f0,f1\n1,2,3\n0,4,1e999\n").unwrap();
        let e = load_csv(&p, &LabelColumn::Named("y".into()), 2).unwrap_err();
        assert!(matches!(e, DataError::NonFinite { row: 1, col: 2, .. }), "{e}");
        std::fs::write(&p, "f0,y\nabc,1\n").unwrap();
        assert!(matches!(load_csv(&p, &LabelColumn::Last, 2), Err(DataError::Csv { line: 2, .. })));
        assert!(matches!(load_csv(&p, &LabelColumn::Named("z".into()), 2), Err(DataError::Csv { line: 1, .. })));
        std::fs::write(&p, "f0,y\n").unwrap();
        assert!(matches!(load_csv(&p, &LabelColumn::Last, 2), Err(DataError::Empty { .. })));
        std::fs::write(&p, "y\n1\n").unwrap();
        assert!(matches!(load_csv(&p, &LabelColumn::Last, 2), Err(DataError::Csv { line: 1, .. })));
    }

    #[test]
    fn a_line_with_another_field_count_names_line_and_counts() {
        let dir = temp_dir("csv-fields");
        let p = dir.join("c.csv");
        // One field too few on line 3, then one too many on line 4.
        for (text, line, found) in [("f0,f1,y\n1,2,0\n3,1\n", 3, 2), ("f0,f1,y\n1,2,0\n\n1,2,3,1\n", 4, 4)] {
            std::fs::write(&p, text).unwrap();
            let e = load_csv(&p, &LabelColumn::Last, 2).unwrap_err();
            assert!(
                matches!(e, DataError::FieldCount { line: l, expected: 3, found: f, .. } if l == line && f == found)
            );
            assert_eq!(e.to_string(), format!("{}:{line}: {found} fields, the header has 3", p.display()));
        }
        // The count comes before any field is parsed.
        std::fs::write(&p, "f0,y\nabc,1,2\n").unwrap();
        assert!(matches!(load_csv(&p, &LabelColumn::Last, 2), Err(DataError::FieldCount { found: 3, .. })));
    }

    #[test]
    fn a_csv_of_another_width_is_refused_by_feature_count() {
        let dir = temp_dir("csv-width");
        let p = dir.join("val.csv");
        std::fs::write(&p, "f0,f1,f2,y\n1,2,3,0\n").unwrap();
        let s = load_csv_with_features(&p, &LabelColumn::Last, 2, 3).unwrap();
        assert_eq!((s.x.cols, s.y.clone()), (3, vec![0]));
        for expected in [2, 4] {
            let e = load_csv_with_features(&p, &LabelColumn::Last, 2, expected).unwrap_err();
            assert!(matches!(e, DataError::FeatureCount { expected: x, found: 3, .. } if x == expected), "{e}");
            assert!(e.to_string().contains("val.csv") && e.to_string().contains("3 feature columns"), "{e}");
        }
        // Refused from the header: rows that would fail are never reached.
        std::fs::write(&p, "f0,y\nbad,row,here\n").unwrap();
        assert!(matches!(load_csv_with_features(&p, &LabelColumn::Last, 2, 3), Err(DataError::FeatureCount { .. })));
        assert!(check_feature_count(&p, &s.x, 3).is_ok());
        let e = check_feature_count(&p, &s.x, 5).unwrap_err();
        assert!(matches!(e, DataError::FeatureCount { expected: 5, found: 3, .. }), "{e}");
    }

    #[test]
    fn column_count_is_bounded() {
        let dir = temp_dir("csv-wide");
        let p = dir.join("wide.csv");
        std::fs::write(&p, ",".repeat(MAX_CSV_COLUMNS)).unwrap();
        let e = load_csv(&p, &LabelColumn::Last, 2).unwrap_err();
        assert!(matches!(e, DataError::TooLarge { size, .. } if size == MAX_CSV_COLUMNS as u64 + 1), "{e}");
    }

    proptest::proptest! {
        /// Lines of any width: read when they match the header, otherwise refused with the
        /// line number and both counts.
        #[test]
        fn any_line_width_is_checked(widths in proptest::collection::vec(1usize..6, 1..5)) {
            let dir = temp_dir("csv-prop");
            let p = dir.join(format!("p{}.csv", widths.iter().map(|w| w.to_string()).collect::<String>()));
            let mut text = String::from("a,b,y\n");
            for &w in &widths {
                text += &vec!["1"; w].join(",");
                text.push('\n');
            }
            std::fs::write(&p, &text).unwrap();
            match (load_csv(&p, &LabelColumn::Last, 2), widths.iter().position(|&w| w != 3)) {
                (Ok(s), None) => proptest::prop_assert_eq!(s.len(), widths.len()),
                (Err(DataError::FieldCount { line, expected: 3, found, .. }), Some(k)) => {
                    proptest::prop_assert_eq!((line, found), (k + 2, widths[k]));
                }
                (r, k) => proptest::prop_assert!(false, "{:?} for the first bad line {:?}", r.map(|s| s.len()), k),
            }
        }
    }
}
