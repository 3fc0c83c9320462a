//! What the examples share: their error type, the parsing of a flag's value and the exit code.

// Each example uses a different part of this module.
#![allow(dead_code)]

use std::process::ExitCode;

/// Why an example stops: a bad command line ([`Usage`]) or the typed error of a step, printed
/// as it is.
pub type ExampleError = Box<dyn std::error::Error>;

/// A bad command line: the message says what is wrong, or how to call the example.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

/// A [`Usage`] error.
pub fn usage(message: impl Into<String>) -> ExampleError {
    Box::new(Usage(message.into()))
}

/// The value of `flag`, parsed; `<flag> needs a valid value` if it is missing or does not parse.
pub fn parse<T: std::str::FromStr>(flag: &str, value: Option<String>) -> Result<T, ExampleError> {
    value.and_then(|v| v.parse().ok()).ok_or_else(|| usage(format!("{flag} needs a valid value")))
}

/// The exit code of an example's `result`: success, or failure after printing the error as
/// `<prefix>: <error>` on stderr.
pub fn exit_code(prefix: &str, result: Result<(), ExampleError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{prefix}: {e}");
            ExitCode::FAILURE
        }
    }
}
