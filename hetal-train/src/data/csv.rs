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

/// Reads `path`: comma-separated (RFC 4180, through the `csv` crate), first record a header,
/// every other non-blank record a sample with as many fields as the header. Fields may be
/// quoted (`"1.5"`, a header name `"a, b"` holding a comma, `""` for a quote inside quotes, a
/// quoted field spanning lines; a quote opens quoting only as a field's first character);
/// whitespace around every field and name is trimmed; lines may end in `\n` or `\r\n`; a UTF-8
/// byte-order mark before the header is dropped; blank (or all-whitespace) lines are skipped,
/// before the header too. Features must parse as finite numbers and the label as an integer in
/// `0..classes`. Errors name the file and the line (1-based, the header is line 1; a
/// record spanning lines is named by its first); a record with another number of fields than
/// the header is [`DataError::FieldCount`]. The file is at most [`MAX_CSV_BYTES`] (checked
/// before it is read) and the header at most [`MAX_CSV_COLUMNS`] columns (checked before any
/// sample is read).
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
    // `flexible`: a record of another width is our `FieldCount` (with its line and both counts),
    // not the crate's generic error. The parser's memory for one record is proportional to the
    // record's bytes, so the file-size bound also bounds it.
    // The header is read as a record like the others (not `has_headers`), so that blank lines
    // before it are skipped as they are elsewhere.
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    // The next record that is not a blank line, with its line: the crate skips empty lines
    // itself, a line of only whitespace is one (trimmed) empty field. The text is valid UTF-8 and
    // read from memory, so the crate has no error left to report but a bug of its own.
    let mut next = |record: &mut csv::StringRecord| -> Result<Option<usize>, DataError> {
        loop {
            let more = reader.read_record(record).map_err(|e| {
                let line = e.position().map_or(1, |p| start_line(&text, p));
                err(line, e.to_string())
            })?;
            if !more {
                return Ok(None);
            }
            if record.len() != 1 || !record[0].is_empty() {
                return Ok(Some(record.position().map_or(0, |p| start_line(&text, p))));
            }
        }
    };
    let header_line = next(&mut record)?.ok_or_else(|| err(1, "empty file: no header row".into()))?;
    let header = record.clone();
    let columns = header.len();
    within(path, "number of header columns", columns as u64, MAX_CSV_COLUMNS as u64)?;
    if columns < 2 {
        return Err(err(header_line, "need at least one feature column and a label column".into()));
    }
    let label_col = match label {
        LabelColumn::Last => columns - 1,
        LabelColumn::Named(name) => header
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| err(header_line, format!("no label column named {name:?} in the header")))?,
    };
    if let Some(expected) = features {
        feature_count(path, columns - 1, expected)?;
    }
    let mut data = Vec::new();
    let mut y = Vec::new();
    while let Some(line) = next(&mut record)? {
        let found = record.len();
        if found != columns {
            return Err(DataError::FieldCount { path: path.into(), line, expected: columns, found });
        }
        let row = y.len();
        for (col, field) in record.iter().enumerate() {
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

/// The 1-based line of `text` on which the record read from `pos` starts. The crate gives the
/// position where it began reading, before the line ends (a pending `\n` of `\r\n`, blank
/// lines) that it skips ahead of the record, so those are counted here.
fn start_line(text: &str, pos: &csv::Position) -> usize {
    let from = usize::try_from(pos.byte()).map_or(text.len(), |b| b.min(text.len()));
    let skipped = text.as_bytes()[from..].iter().take_while(|&&b| b == b'\n' || b == b'\r');
    let line = pos.line() + skipped.filter(|&&b| b == b'\n').count() as u64;
    usize::try_from(line).unwrap_or(usize::MAX)
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

    /// Writes `text` to `path` and loads it.
    fn write_and_load(path: &Path, text: &str, label: &LabelColumn, classes: usize) -> Result<Split, DataError> {
        std::fs::write(path, text).unwrap();
        load_csv(path, label, classes)
    }

    #[test]
    fn quoted_fields_and_names_parse() {
        let dir = temp_dir("csv-quoted");
        let p = dir.join("q.csv");
        let text = "\"f 0\",\"a, b\",\"say \"\"hi\"\"\"\n\"1.5\",\"2\",0\n -1 ,\" 3 \",\"1\"\n";
        let s = write_and_load(&p, text, &LabelColumn::Named("a, b".into()), 4).unwrap();
        assert_eq!((s.y.clone(), s.x.data.clone()), (vec![2, 3], vec![1.5, 0.0, -1.0, 1.0]));
        let s = load_csv(&p, &LabelColumn::Named("say \"hi\"".into()), 2).unwrap();
        assert_eq!((s.y.clone(), s.x.data.clone()), (vec![0, 1], vec![1.5, 2.0, -1.0, 3.0]));
        let s = write_and_load(&p, "\"f0\",\"f1\",\"y\"\n\"1.5\",\"2.0\",0\n", &LabelColumn::Last, 2).unwrap();
        assert_eq!((s.y.clone(), s.x.data.clone()), (vec![0], vec![1.5, 2.0]));
        // A quote after a space is a character of the field, not quoting.
        let e = write_and_load(&p, "f0,y\n1, \"1\"\n", &LabelColumn::Last, 2).unwrap_err();
        assert!(matches!(e, DataError::Csv { line: 2, .. }), "{e}");
        // A comma inside quotes is no field separator: still three fields.
        let e = write_and_load(&p, "f0,f1,y\n\"1,5\",2,0\n", &LabelColumn::Last, 2).unwrap_err();
        assert!(matches!(e, DataError::Csv { line: 2, ref reason, .. } if reason.contains("\"1,5\"")), "{e}");
    }

    #[test]
    fn crlf_blank_lines_and_bom() {
        let dir = temp_dir("csv-lines");
        let p = dir.join("l.csv");
        // A byte-order mark before the header is dropped: the first name is `y`.
        let s =
            write_and_load(&p, "\u{feff}y,f0\r\n1,2.5\r\n\r\n0,-1\r\n", &LabelColumn::Named("y".into()), 2).unwrap();
        assert_eq!((s.y.clone(), s.x.data.clone()), (vec![1, 0], vec![2.5, -1.0]));
        // Blank and all-whitespace lines are skipped, before the header too, and errors still
        // name the line of the file.
        for (text, line) in
            [("f0,y\n\n   \n1,1\n\t\nabc,0\n", 6), ("f0,y\r\n1,0\r\n\r\nabc,1\r\n", 4), ("\n \nf0,y\n1,1\nabc,0\n", 5)]
        {
            let e = write_and_load(&p, text, &LabelColumn::Last, 2).unwrap_err();
            assert!(matches!(e, DataError::Csv { line: l, .. } if l == line), "{text:?}: {e}");
        }
        let e = write_and_load(&p, "\n\nf0,y\n1,1\n", &LabelColumn::Named("z".into()), 2).unwrap_err();
        assert!(matches!(e, DataError::Csv { line: 3, .. }), "{e}");
        for text in ["", "\n\r\n", "\u{feff}"] {
            let e = write_and_load(&p, text, &LabelColumn::Last, 2).unwrap_err();
            assert!(matches!(e, DataError::Csv { line: 1, ref reason, .. } if reason.contains("no header")), "{e}");
        }
    }

    #[test]
    fn a_quoted_field_may_span_lines() {
        let dir = temp_dir("csv-multiline");
        let p = dir.join("m.csv");
        // The header's second name and the first sample's last field hold a line break: the
        // records are read whole, and later lines keep their numbers in errors.
        let text = "f0,\"label\nname\",f1\n\"1.5\",1,\"3\n\"\n4,0,5\n6,1,x\n";
        let e = write_and_load(&p, text, &LabelColumn::Named("label\nname".into()), 2).unwrap_err();
        assert!(matches!(e, DataError::Csv { line: 6, .. }), "{e}");
        let s = write_and_load(&p, &text[..text.len() - "6,1,x\n".len()], &LabelColumn::Named("label\nname".into()), 2)
            .unwrap();
        assert_eq!((s.y.clone(), s.x.data.clone()), (vec![1, 0], vec![1.5, 3.0, 4.0, 5.0]));
        // A quote left open takes the rest of the file into one field: a typed error.
        let e = write_and_load(&p, "f0,y\n\"1,0\n2,1\n", &LabelColumn::Last, 2).unwrap_err();
        assert!(matches!(e, DataError::FieldCount { line: 2, expected: 2, found: 1, .. }), "{e}");
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
