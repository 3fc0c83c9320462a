//! Client-side reports: classification metrics and training-curve plots (being written).
