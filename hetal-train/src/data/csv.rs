//! Reading a labelled CSV file: a header row, then one sample per line, numeric features and an
//! integer class label (the last column, or a column named in the header).

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
/// integer in `0..classes`. Errors name the file and the line.
pub fn load_csv(path: &Path, label: &LabelColumn, classes: usize) -> Result<Split, DataError> {
    let text = std::fs::read_to_string(path).map_err(|source| DataError::Io { path: path.into(), source })?;
    let err = |line: usize, reason: String| DataError::Csv { path: path.into(), line, reason };
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end_matches('\r')));
    let (_, header) = lines.next().ok_or_else(|| err(1, "empty file: no header row".into()))?;
    let names: Vec<&str> = header.split(',').map(str::trim).collect();
    let label_col = match label {
        LabelColumn::Last => names.len() - 1,
        LabelColumn::Named(name) => names
            .iter()
            .position(|n| n.trim_matches('"') == name)
            .ok_or_else(|| err(1, format!("no label column named {name:?} in the header")))?,
    };
    if names.len() < 2 {
        return Err(err(1, "need at least one feature column and a label column".into()));
    }
    let mut data = Vec::new();
    let mut y = Vec::new();
    for (line, text) in lines.filter(|(_, l)| !l.trim().is_empty()) {
        let fields: Vec<&str> = text.split(',').map(str::trim).collect();
        if fields.len() != names.len() {
            return Err(err(line, format!("{} fields, the header has {}", fields.len(), names.len())));
        }
        for (col, field) in fields.iter().enumerate() {
            if col == label_col {
                let value: i64 = field.parse().map_err(|_| err(line, format!("label {field:?} is not an integer")))?;
                let class = usize::try_from(value).ok().filter(|&c| c < classes).ok_or(DataError::LabelOutOfRange {
                    path: path.into(),
                    row: y.len(),
                    label: value,
                    classes,
                })?;
                y.push(class);
            } else {
                let value: f64 =
                    field.parse().map_err(|_| err(line, format!("column {col}: {field:?} is not a number")))?;
                if !value.is_finite() {
                    return Err(DataError::NonFinite { path: path.into(), row: y.len(), col, value });
                }
                data.push(value);
            }
        }
    }
    if y.is_empty() {
        return Err(DataError::Empty { path: path.into(), reason: "no data rows after the header".into() });
    }
    let cols = names.len() - 1;
    Ok(Split { x: Matrix { rows: y.len(), cols, data }, y })
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
        std::fs::write(&p, "f0,y\n1,0\n2\n").unwrap();
        let e = load_csv(&p, &LabelColumn::Last, 2).unwrap_err();
        assert!(matches!(e, DataError::Csv { line: 3, .. }), "{e}");
        assert!(e.to_string().contains("b.csv:3"));
        std::fs::write(&p, "f0,y\n1,7\n").unwrap();
        assert!(matches!(load_csv(&p, &LabelColumn::Last, 2), Err(DataError::LabelOutOfRange { label: 7, .. })));
        std::fs::write(&p, "f0,y\nnan,1\n").unwrap();
        assert!(matches!(load_csv(&p, &LabelColumn::Last, 2), Err(DataError::NonFinite { .. })));
        std::fs::write(&p, "f0,y\nabc,1\n").unwrap();
        assert!(matches!(load_csv(&p, &LabelColumn::Last, 2), Err(DataError::Csv { line: 2, .. })));
        assert!(matches!(load_csv(&p, &LabelColumn::Named("z".into()), 2), Err(DataError::Csv { line: 1, .. })));
        std::fs::write(&p, "f0,y\n").unwrap();
        assert!(matches!(load_csv(&p, &LabelColumn::Last, 2), Err(DataError::Empty { .. })));
    }
}
