//! Classification metrics of a model on a labelled split: accuracy, the confusion matrix, and
//! per-class precision, recall, F1 and support with their macro and weighted averages, as
//! scikit-learn's `classification_report` gives them.

use hetal_train::matrix::Matrix;
use serde::Serialize;
use std::fmt::Write as _;

/// What can be wrong with the inputs of a report.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReportError {
    /// The predictions and the true labels have different lengths.
    #[error("{predicted} predictions for {truth} true labels: the two must have the same length")]
    LengthMismatch {
        /// Number of predictions.
        predicted: usize,
        /// Number of true labels.
        truth: usize,
    },
    /// A label (true or predicted) is not below the class count.
    #[error("{which} label {label} at row {row} is outside 0..{classes}")]
    LabelOutOfRange {
        /// `"true"` or `"predicted"`.
        which: &'static str,
        /// Row of the label (0-based).
        row: usize,
        /// The label.
        label: usize,
        /// The class count.
        classes: usize,
    },
    /// There is nothing to report on.
    #[error("no samples: a classification report needs at least one labelled row")]
    NoSamples,
    /// The class count is zero, or larger than the number of logit columns.
    #[error("{classes} classes for logits with {columns} columns: need 1 <= classes <= columns")]
    Classes {
        /// The class count asked for.
        classes: usize,
        /// The columns available (the padded class count for logits; `classes` otherwise).
        columns: usize,
    },
    /// A logit is NaN or infinite (a failed decryption or a diverged model), so no class can
    /// be predicted for its row.
    #[error("logit {value} at row {row}, column {col} is not finite")]
    NonFiniteLogit {
        /// Row (sample).
        row: usize,
        /// Column (class).
        col: usize,
        /// The value.
        value: f64,
    },
}

/// The class of largest logit of each row, among the first `classes` columns: the padded
/// columns (up to the power of two the encrypted model uses) are never predicted. Ties go to
/// the smaller class index.
pub fn predictions(logits: &Matrix, classes: usize) -> Result<Vec<usize>, ReportError> {
    if classes == 0 || classes > logits.cols {
        return Err(ReportError::Classes { classes, columns: logits.cols });
    }
    (0..logits.rows)
        .map(|row| {
            let real = &logits.row(row)[..classes];
            if let Some(col) = real.iter().position(|v| !v.is_finite()) {
                return Err(ReportError::NonFiniteLogit { row, col, value: real[col] });
            }
            // Strict `>` keeps the first of equal maxima.
            Ok(real.iter().enumerate().fold(0, |best, (k, &v)| if v > real[best] { k } else { best }))
        })
        .collect()
}

/// Precision, recall, F1 and support of one class (or an average of them).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ClassMetrics {
    /// Of the rows predicted as this class, the fraction that are (0 when none is predicted).
    pub precision: f64,
    /// Of the rows of this class, the fraction predicted as it (0 when the class has no row).
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
    /// Number of rows whose true label is this class (for an average: all rows).
    pub support: usize,
}

/// The metrics of predicted against true labels.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassificationReport {
    /// Number of classes (rows and columns of the confusion matrix).
    pub classes: usize,
    /// Number of rows compared.
    pub samples: usize,
    /// Fraction of rows predicted correctly.
    pub accuracy: f64,
    /// `confusion[t][p]`: rows of true class `t` predicted as `p`.
    pub confusion: Vec<Vec<usize>>,
    /// One entry per class, in class order.
    pub per_class: Vec<ClassMetrics>,
    /// Unweighted mean over the classes (every class counts the same, empty ones included).
    pub macro_avg: ClassMetrics,
    /// Mean over the classes weighted by support.
    pub weighted_avg: ClassMetrics,
}

/// `num / den`, or 0 when `den` is 0 (scikit-learn's `zero_division=0`): no NaN in a report.
fn ratio(num: f64, den: f64) -> f64 {
    if den == 0.0 {
        0.0
    } else {
        num / den
    }
}

/// Checks `labels` against the class count, naming the first bad row.
fn check(which: &'static str, labels: &[usize], classes: usize) -> Result<(), ReportError> {
    match labels.iter().position(|&l| l >= classes) {
        Some(row) => Err(ReportError::LabelOutOfRange { which, row, label: labels[row], classes }),
        None => Ok(()),
    }
}

/// Accuracy, confusion matrix (rows: true class, columns: predicted class), per-class
/// precision / recall / F1 / support, and their averages. Errors: different lengths, no rows,
/// no classes, a label (true or predicted) not below `classes`.
pub fn classification_report(
    predicted: &[usize],
    truth: &[usize],
    classes: usize,
) -> Result<ClassificationReport, ReportError> {
    if predicted.len() != truth.len() {
        return Err(ReportError::LengthMismatch { predicted: predicted.len(), truth: truth.len() });
    }
    if classes == 0 {
        return Err(ReportError::Classes { classes, columns: classes });
    }
    if truth.is_empty() {
        return Err(ReportError::NoSamples);
    }
    check("true", truth, classes)?;
    check("predicted", predicted, classes)?;

    let mut confusion = vec![vec![0usize; classes]; classes];
    for (&p, &t) in predicted.iter().zip(truth) {
        confusion[t][p] += 1;
    }
    let samples = truth.len();
    let correct: usize = (0..classes).map(|k| confusion[k][k]).sum();
    let per_class: Vec<ClassMetrics> = (0..classes)
        .map(|k| {
            let tp = confusion[k][k] as f64;
            let support: usize = confusion[k].iter().sum();
            let predicted_k: usize = confusion.iter().map(|row| row[k]).sum();
            let precision = ratio(tp, predicted_k as f64);
            let recall = ratio(tp, support as f64);
            ClassMetrics { precision, recall, f1: ratio(2.0 * precision * recall, precision + recall), support }
        })
        .collect();
    let average = |weight: &dyn Fn(&ClassMetrics) -> f64| {
        let total: f64 = per_class.iter().map(weight).sum();
        let mean =
            |field: fn(&ClassMetrics) -> f64| ratio(per_class.iter().map(|m| weight(m) * field(m)).sum::<f64>(), total);
        ClassMetrics {
            precision: mean(|m| m.precision),
            recall: mean(|m| m.recall),
            f1: mean(|m| m.f1),
            support: samples,
        }
    };
    let macro_avg = average(&|_| 1.0);
    let weighted_avg = average(&|m| m.support as f64);
    Ok(ClassificationReport {
        classes,
        samples,
        accuracy: correct as f64 / samples as f64,
        confusion,
        per_class,
        macro_avg,
        weighted_avg,
    })
}

impl ClassificationReport {
    /// An aligned text table in the layout of scikit-learn's `classification_report` (one row
    /// per class, then accuracy and the two averages), followed by the confusion matrix. Class
    /// `k` is shown as `class_names[k]` when given, else as its index.
    pub fn to_text(&self, class_names: Option<&[String]>) -> String {
        let names: Vec<String> = (0..self.classes)
            .map(|k| class_names.and_then(|n| n.get(k)).cloned().unwrap_or_else(|| k.to_string()))
            .collect();
        let width = names.iter().map(|n| n.chars().count()).chain(["weighted avg".len()]).max().unwrap_or(0);
        let mut s = String::new();
        // Writing into a String cannot fail: the results of `writeln!` are ignored.
        let _ = writeln!(s, "{:>width$} {:>10} {:>10} {:>10} {:>10}", "", "precision", "recall", "f1-score", "support");
        let _ = writeln!(s);
        let row = |s: &mut String, name: &str, m: &ClassMetrics| {
            let _ =
                writeln!(s, "{name:>width$} {:>10.4} {:>10.4} {:>10.4} {:>10}", m.precision, m.recall, m.f1, m.support);
        };
        for (name, m) in names.iter().zip(&self.per_class) {
            row(&mut s, name, m);
        }
        let _ = writeln!(s);
        let _ =
            writeln!(s, "{:>width$} {:>10} {:>10} {:>10.4} {:>10}", "accuracy", "", "", self.accuracy, self.samples);
        row(&mut s, "macro avg", &self.macro_avg);
        row(&mut s, "weighted avg", &self.weighted_avg);
        let _ = writeln!(s);
        let _ = writeln!(s, "confusion matrix (rows: true class, columns: predicted class)");
        let largest = self.confusion.iter().flatten().max().copied().unwrap_or(0).to_string().len();
        let cell = names.iter().map(|n| n.chars().count()).max().unwrap_or(1).max(largest);
        let _ = write!(s, "{:>width$}", "");
        for name in &names {
            let _ = write!(s, " {name:>cell$}");
        }
        let _ = writeln!(s);
        for (name, counts) in names.iter().zip(&self.confusion) {
            let _ = write!(s, "{name:>width$}");
            for c in counts {
                let _ = write!(s, " {c:>cell$}");
            }
            let _ = writeln!(s);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn metrics_match_a_hand_computed_example() {
        // truth:     0 0 0 1 1 2
        // predicted: 0 0 1 1 2 2
        let r = classification_report(&[0, 0, 1, 1, 2, 2], &[0, 0, 0, 1, 1, 2], 3).unwrap();
        assert_eq!(r.samples, 6);
        assert!(close(r.accuracy, 4.0 / 6.0));
        assert_eq!(r.confusion, vec![vec![2, 1, 0], vec![0, 1, 1], vec![0, 0, 1]]);
        let supports: Vec<usize> = r.per_class.iter().map(|m| m.support).collect();
        assert_eq!(supports, vec![3, 2, 1]);
        // Class 0: precision 2/2, recall 2/3; class 1: 1/2, 1/2; class 2: 1/2, 1/1.
        assert!(close(r.per_class[0].precision, 1.0) && close(r.per_class[0].recall, 2.0 / 3.0));
        assert!(close(r.per_class[0].f1, 0.8));
        assert!(close(r.per_class[1].precision, 0.5) && close(r.per_class[1].recall, 0.5));
        assert!(close(r.per_class[2].precision, 0.5) && close(r.per_class[2].f1, 2.0 / 3.0));
        assert!(close(r.macro_avg.precision, 2.0 / 3.0));
        assert!(close(r.macro_avg.recall, (2.0 / 3.0 + 0.5 + 1.0) / 3.0));
        assert!(close(r.weighted_avg.recall, r.accuracy), "weighted recall is accuracy");
        assert_eq!(r.macro_avg.support, 6);
    }

    #[test]
    fn empty_classes_give_zero_not_nan() {
        // Class 2 never occurs and is never predicted; class 1 is never predicted.
        let r = classification_report(&[0, 0, 0], &[0, 1, 0], 3).unwrap();
        for m in r.per_class.iter().chain([&r.macro_avg, &r.weighted_avg]) {
            assert!(m.precision.is_finite() && m.recall.is_finite() && m.f1.is_finite(), "{m:?}");
        }
        assert_eq!(r.per_class[1], ClassMetrics { precision: 0.0, recall: 0.0, f1: 0.0, support: 1 });
        assert_eq!(r.per_class[2], ClassMetrics { precision: 0.0, recall: 0.0, f1: 0.0, support: 0 });
        let json = serde_json::to_string(&r).unwrap();
        assert!(!json.contains("NaN") && !json.contains("null"), "{json}");
        assert!(json.contains("\"accuracy\"") && json.contains("\"confusion\":[[2,0,0],[1,0,0],[0,0,0]]"), "{json}");
    }

    #[test]
    fn bad_inputs_are_typed_errors() {
        assert_eq!(
            classification_report(&[0, 1], &[0], 2),
            Err(ReportError::LengthMismatch { predicted: 2, truth: 1 })
        );
        let err = classification_report(&[0, 1, 0], &[0, 1, 5], 2).unwrap_err();
        assert_eq!(err, ReportError::LabelOutOfRange { which: "true", row: 2, label: 5, classes: 2 });
        assert!(err.to_string().contains("row 2") && err.to_string().contains("label 5"), "{err}");
        let err = classification_report(&[0, 3], &[0, 1], 2).unwrap_err();
        assert!(matches!(err, ReportError::LabelOutOfRange { which: "predicted", row: 1, label: 3, .. }));
        assert_eq!(classification_report(&[], &[], 2), Err(ReportError::NoSamples));
        assert!(matches!(classification_report(&[0], &[0], 0), Err(ReportError::Classes { .. })));
    }

    #[test]
    fn predictions_ignore_padded_columns() {
        // Column 3 is padding with the largest value: it must never win.
        let logits =
            Matrix::from_vec(3, 4, vec![0.1, 0.9, 0.0, 9.0, 2.0, 2.0, 1.0, 9.0, -1.0, -3.0, -0.5, 9.0]).unwrap();
        assert_eq!(predictions(&logits, 3).unwrap(), vec![1, 0, 2]);
        assert_eq!(predictions(&logits, 4).unwrap(), vec![3, 3, 3]);
        assert!(matches!(predictions(&logits, 5), Err(ReportError::Classes { classes: 5, columns: 4 })));
        assert!(matches!(predictions(&logits, 0), Err(ReportError::Classes { .. })));
        let nan = Matrix::from_vec(2, 2, vec![0.0, 1.0, f64::NAN, 0.0]).unwrap();
        assert!(matches!(predictions(&nan, 2), Err(ReportError::NonFiniteLogit { row: 1, col: 0, .. })));
    }

    #[test]
    fn text_table_is_aligned_and_names_classes() {
        let r = classification_report(&[0, 1, 1, 0], &[0, 1, 0, 0], 2).unwrap();
        let names = vec!["zero".to_string(), "one".to_string()];
        let text = r.to_text(Some(&names));
        assert!(text.contains("precision") && text.contains("weighted avg") && text.contains("confusion matrix"));
        let lines: Vec<&str> = text.lines().collect();
        let zero = lines.iter().find(|l| l.trim_start().starts_with("zero")).unwrap();
        let one = lines.iter().find(|l| l.trim_start().starts_with("one ")).unwrap();
        assert_eq!(zero.len(), one.len(), "rows of equal width:\n{text}");
        assert!(zero.contains("1.0000") && zero.contains("0.6667"), "{zero}");
        let acc = lines.iter().find(|l| l.contains("accuracy")).unwrap();
        assert!(acc.contains("0.7500") && acc.trim_end().ends_with('4'), "{acc}");
        // Confusion rows: true 0 -> [2, 1], true 1 -> [0, 1].
        let conf: Vec<&str> = lines.iter().rev().take(2).copied().collect();
        assert!(conf[1].split_whitespace().eq(["zero", "2", "1"]), "{text}");
        assert!(conf[0].split_whitespace().eq(["one", "0", "1"]), "{text}");
        // Missing names fall back to indices.
        assert!(r.to_text(Some(&names[..1])).lines().any(|l| l.split_whitespace().next() == Some("1")));
    }
}
