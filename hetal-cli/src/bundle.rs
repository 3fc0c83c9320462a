//! The two key files: the client's secret key and the server's public bundle. Both start with
//! the parameters (as a CKKS blob) and name the preset and the task shape in their metadata,
//! so every later command checks that keys, job and data belong together.

use crate::files::{Container, FileError, FileKind, ReadContainer};
use crate::task::{TaskShape, TrainPreset};
use ckks_scheme::bootstrap::BootstrapKeys;
use ckks_scheme::{EvaluationKeys, Parameters, SecretKey};
use std::path::Path;

/// The client's key file.
pub struct SecretKeyFile {
    /// The preset.
    pub preset: TrainPreset,
    /// The task shape the keys were made for.
    pub task: TaskShape,
    /// The parameters.
    pub params: Parameters,
    /// The secret key.
    pub sk: SecretKey,
}

/// The server's key file: everything public.
pub struct PublicBundle {
    /// The preset.
    pub preset: TrainPreset,
    /// The task shape the rotation keys cover.
    pub task: TaskShape,
    /// The parameters.
    pub params: Parameters,
    /// Public, relinearization and Galois keys.
    pub keys: EvaluationKeys,
    /// Bootstrapping's encapsulation keys.
    pub bootstrap: BootstrapKeys,
}

fn meta(preset: TrainPreset, task: &TaskShape, params: &Parameters) -> serde_json::Value {
    serde_json::json!({
        "preset": preset,
        "task": task,
        "parameters": params.builder().name,
        "insecure": preset.is_insecure(),
    })
}

fn params_of(path: &Path, c: &ReadContainer) -> Result<Parameters, FileError> {
    Parameters::from_bytes(c.part(path, 0, "parameters")?).map_err(|e| FileError::scheme(path, e))
}

impl SecretKeyFile {
    /// Writes the file with mode 0600. Returns its size.
    pub fn write(&self, path: &Path) -> Result<u64, FileError> {
        let parts = vec![
            self.params.to_bytes().map_err(|e| FileError::scheme(path, e))?,
            self.sk.to_bytes().map_err(|e| FileError::scheme(path, e))?,
        ];
        Container { kind: FileKind::SecretKey, meta: meta(self.preset, &self.task, &self.params), parts }
            .write(path, true)
    }

    /// Reads and checks the file.
    pub fn read(path: &Path) -> Result<Self, FileError> {
        let c = ReadContainer::read(path, FileKind::SecretKey)?;
        let params = params_of(path, &c)?;
        let sk =
            SecretKey::from_bytes(&params, c.part(path, 1, "secret key")?).map_err(|e| FileError::scheme(path, e))?;
        Ok(Self { preset: c.meta_field(path, "preset")?, task: c.meta_field(path, "task")?, params, sk })
    }
}

impl PublicBundle {
    /// Writes the bundle. Returns its size.
    pub fn write(&self, path: &Path) -> Result<u64, FileError> {
        let parts = vec![
            self.params.to_bytes().map_err(|e| FileError::scheme(path, e))?,
            self.keys.to_bytes().map_err(|e| FileError::scheme(path, e))?,
            self.bootstrap.to_bytes(&self.params).map_err(|e| FileError::scheme(path, e))?,
        ];
        Container { kind: FileKind::PublicBundle, meta: meta(self.preset, &self.task, &self.params), parts }
            .write(path, false)
    }

    /// Reads and checks the bundle. A secret-key file is refused with a message that says the
    /// server takes public keys only.
    pub fn read(path: &Path) -> Result<Self, FileError> {
        if ReadContainer::peek_kind(path) == Some(FileKind::SecretKey) {
            return Err(FileError::Format {
                path: path.into(),
                reason: "this is the client's SECRET key; the server takes only the public bundle \
                         (public.hbundle) and never a secret key"
                    .into(),
            });
        }
        let c = ReadContainer::read(path, FileKind::PublicBundle)?;
        let params = params_of(path, &c)?;
        let keys = EvaluationKeys::from_bytes_with(&params, c.part(path, 1, "evaluation keys")?)
            .map_err(|e| FileError::scheme(path, e))?;
        let bootstrap = BootstrapKeys::from_bytes(&params, c.part(path, 2, "bootstrapping keys")?)
            .map_err(|e| FileError::scheme(path, e))?;
        Ok(Self { preset: c.meta_field(path, "preset")?, task: c.meta_field(path, "task")?, params, keys, bootstrap })
    }
}
