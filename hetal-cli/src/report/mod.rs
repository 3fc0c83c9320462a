//! Client-side reports: classification metrics of a decrypted model (the text and JSON of
//! `hetal evaluate`) and training curves as SVG (encrypted beside plaintext training).

// `evaluate` and `demo`, the callers, are written on another branch: until they are merged,
// nothing in the binary calls these items (only the tests do).

mod metrics;
mod plot;

pub use metrics::{classification_report, predictions, ClassificationReport};
pub use plot::{training_curves_svg, Series};
