//! The embedded default data set (being written).
