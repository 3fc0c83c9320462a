//! TEMPORARY stand-in for the report module.
use serde::Serialize;

/// Error.
#[derive(Debug, thiserror::Error)]
#[error("report: {0}")]
pub struct ReportError(String);

/// Report.
#[derive(Debug, Serialize)]
pub struct ClassificationReport {
    /// Accuracy.
    pub accuracy: f64,
}

impl ClassificationReport {
    /// Text.
    pub fn to_text(&self, _names: Option<&[String]>) -> String {
        format!("accuracy {:.4}", self.accuracy)
    }
}

/// Report.
pub fn classification_report(p: &[usize], t: &[usize], _c: usize) -> Result<ClassificationReport, ReportError> {
    if p.len() != t.len() {
        return Err(ReportError("length".into()));
    }
    Ok(ClassificationReport {
        accuracy: p.iter().zip(t).filter(|(a, b)| a == b).count() as f64 / p.len().max(1) as f64,
    })
}

/// Series.
pub struct Series {
    /// Label.
    pub label: String,
    /// Points.
    pub points: Vec<(f64, f64)>,
}

/// SVG.
pub fn training_curves_svg(_t: &str, _l: &[Series], _a: &[Series]) -> String {
    "<svg/>".into()
}
