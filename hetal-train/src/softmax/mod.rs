//! The softmax approximation of HETAL (spec section 5).
