//! The plaintext reference trainer and client-side early stopping (spec section 6).
