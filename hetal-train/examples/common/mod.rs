//! What the examples share: their error type, the parsing of a flag's value and the exit code.

// Each example uses a different part of this module.
#![allow(dead_code)]

use ckks_scheme::SchemeError;
use hetal_train::data::DataError;
use hetal_train::encrypted::EncryptedTrainError;
use hetal_train::plain::TrainError;
use hetal_train::softmax::SoftmaxError;
use std::process::ExitCode;

/// Why an example stops: a bad command line, or the error of a step, printed as it is.
#[derive(Debug, thiserror::Error)]
pub enum ExampleError {
    /// A bad command line (the message says what is wrong, or how to call the example).
    #[error("{0}")]
    Usage(String),
    /// Parameters, keys or encryption.
    #[error(transparent)]
    Scheme(#[from] SchemeError),
    /// Loading or scaling the data set.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The softmax approximation.
    #[error(transparent)]
    Softmax(#[from] SoftmaxError),
    /// The plaintext trainer's configuration.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// Encrypted training.
    #[error(transparent)]
    Encrypted(#[from] EncryptedTrainError),
}

/// A [`ExampleError::Usage`] error.
pub fn usage(message: impl Into<String>) -> ExampleError {
    ExampleError::Usage(message.into())
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
