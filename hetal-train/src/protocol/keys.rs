//! The two key files: the client's secret key and the server's public bundle. Both start with
//! the parameters (as a CKKS blob), name the preset and the task shape in their metadata, and
//! carry the key's fingerprint in their header, so every later command checks that keys, job
//! and data belong together.
//!
//! Nothing in a key file is trusted: the parameters must be exactly the named preset's (a file
//! that says `bootstrap-n16` over `N = 2^12` parameters is refused), their security is what the
//! CKKS layer finds when it checks them against the HE Standard table (so "INSECURE" comes from
//! the parameters, never from a label), the bundle's fingerprint is recomputed from its public
//! key, and a file with parts it should not have (a secret key appended to a bundle) is refused.

use super::task::{TaskShape, TrainPreset};
use crate::store::{Binding, Container, FileError, FileKind, Fingerprint, ReadContainer, StreamedPart};
use ckks_scheme::circuits::bootstrap::{BootstrapKeys, Bootstrapper};
use ckks_scheme::security::SecurityLevel;
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
    /// The fingerprint of the key pair (of its public key, recorded when it was made).
    pub key: Fingerprint,
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
    /// The fingerprint of its public key, computed on load.
    pub key: Fingerprint,
    /// Where it was read from (named in errors), or `(in memory)`.
    pub origin: std::path::PathBuf,
}

/// The container of a key file: bound to the parameters and the key, the preset and task in its
/// metadata.
fn key_container(
    path: &Path,
    kind: FileKind,
    (preset, task, params, key): (TrainPreset, &TaskShape, &Parameters, Fingerprint),
    parts: Vec<Vec<u8>>,
) -> Result<Container, FileError> {
    let params_fp = Fingerprint::of_parameters(params).map_err(|e| FileError::scheme(path, e))?;
    Ok(Container { kind, binding: Binding::key(params_fp, key), meta: meta(preset, task, params), parts })
}

fn meta(preset: TrainPreset, task: &TaskShape, params: &Parameters) -> serde_json::Value {
    serde_json::json!({
        "preset": preset,
        "task": task,
        "parameters": params.builder().name,
        "insecure": params.security() == SecurityLevel::Insecure,
    })
}

/// The task shape named in the metadata, checked.
fn task_of(path: &Path, c: &ReadContainer) -> Result<TaskShape, FileError> {
    let task: TaskShape = c.meta_field(path, "task")?;
    task.check().map_err(|e| FileError::format(path, e.to_string()))?;
    Ok(task)
}

/// The preset named in the metadata and the parameters of part 0, which must be exactly that
/// preset's, at its security level.
fn preset_and_params(path: &Path, c: &ReadContainer, part: &[u8]) -> Result<(TrainPreset, Parameters), FileError> {
    let preset: TrainPreset = c.meta_field(path, "preset")?;
    // The literal is compared before anything is built from it: a file naming a preset cannot
    // make this process generate the primes and tables of another chain.
    let header = ckks_scheme::serialize::read_header(part).map_err(|e| FileError::scheme(path, e))?;
    if header.params != preset.builder() {
        return Err(FileError::format(
            path,
            format!(
                "the file names preset {} but holds other parameters ('{}', N = 2^{}, {} + {} primes)",
                preset.name(),
                header.params.name,
                header.params.log_n,
                header.params.q_bits.len(),
                header.params.p_bits.len()
            ),
        ));
    }
    let params = Parameters::from_bytes(part).map_err(|e| FileError::scheme(path, e))?;
    if Fingerprint::of_parameters(&params).map_err(|e| FileError::scheme(path, e))? != c.binding.params {
        return Err(FileError::format(
            path,
            "the header's parameter fingerprint is not that of the parameters in the file",
        ));
    }
    let security = if preset.is_insecure() { SecurityLevel::Insecure } else { SecurityLevel::Classical128 };
    // The literal was compared above, and the parameters are built from it: only the
    // security level the CKKS layer found can still differ from the preset's.
    if params.security() != security {
        return Err(FileError::format(
            path,
            format!(
                "the file names preset {} but holds other parameters ('{}', N = 2^{}, {} primes, {:?})",
                preset.name(),
                params.builder().name,
                params.log_n(),
                params.max_level() + 1 + params.alpha(),
                params.security()
            ),
        ));
    }
    Ok((preset, params))
}

impl SecretKeyFile {
    /// Writes the file with mode 0600. Returns its size.
    pub fn write(&self, path: &Path) -> Result<u64, FileError> {
        let parts = vec![
            self.params.to_bytes().map_err(|e| FileError::scheme(path, e))?,
            self.sk.to_bytes().map_err(|e| FileError::scheme(path, e))?,
        ];
        key_container(path, FileKind::SecretKey, (self.preset, &self.task, &self.params, self.key), parts)?
            .write(path, true)
    }

    /// Reads and checks the file.
    pub fn read(path: &Path) -> Result<Self, FileError> {
        let c = ReadContainer::read(path, FileKind::SecretKey)?;
        let parts = c.exact_parts(path, &["parameters", "secret key"])?;
        let (preset, params) = preset_and_params(path, &c, parts[0])?;
        let sk = SecretKey::from_bytes(&params, parts[1]).map_err(|e| FileError::scheme(path, e))?;
        if c.binding.key.is_none() {
            return Err(FileError::format(path, "the key file has no fingerprint"));
        }
        Ok(Self { preset, task: task_of(path, &c)?, params, sk, key: c.binding.key })
    }
}

impl PublicBundle {
    /// Writes the bundle. Returns its size. The evaluation keys are serialized straight into
    /// the file: at `bootstrap-n16` their 3.6 GB of bytes never sit in memory beside the keys.
    pub fn write(&self, path: &Path) -> Result<u64, FileError> {
        let parts = vec![
            self.params.to_bytes().map_err(|e| FileError::scheme(path, e))?,
            self.bootstrap.to_bytes(&self.params).map_err(|e| FileError::scheme(path, e))?,
        ];
        let len = self.keys.encoded_len().map_err(|e| FileError::scheme(path, e))?;
        let write = |w: &mut dyn std::io::Write| self.keys.write_to(w).map_err(std::io::Error::other);
        key_container(path, FileKind::PublicBundle, (self.preset, &self.task, &self.params, self.key), parts)?
            .write_with(path, false, &[(1, StreamedPart { len, write: &write })])
    }

    /// Checks that every rotation of `rotations` has a key reaching `data_level`. Training
    /// rotations' keys are made truncated to the data level of the bootstrapping order keygen
    /// planned for, so a job of another order (data level) needs keys made for it: refused
    /// here, naming the rotation, the key's level and the job's.
    pub fn check_rotation_levels(
        &self,
        rotations: &[i64],
        data_level: usize,
    ) -> Result<(), crate::protocol::ProtocolError> {
        for &r in rotations {
            let level = self.keys.galois.get(ckks_scheme::rotation_element(&self.params, r)).map(|k| k.max_level());
            if level.is_none_or(|l| l < data_level) {
                return Err(crate::protocol::ProtocolError::mismatch(format!(
                    "the keys of {} reach level {} for rotation {r}, the job's data sits at {data_level}: keys and \
                     job were made for different bootstrapping orders; make the keys again with `hetal keygen`",
                    self.origin.display(),
                    level.map_or("no".into(), |l| l.to_string()),
                )));
            }
        }
        Ok(())
    }

    /// Refuses a bundle that lacks a Galois key `boot` needs: keys made for another
    /// bootstrapping circuit (another preset, or an older hetal whose circuit rotated by other
    /// steps), found before any training instead of at the first refresh.
    pub fn check_bootstrap_keys(&self, boot: &Bootstrapper) -> Result<(), crate::protocol::ProtocolError> {
        let needed = boot.galois_elements();
        let missing: Vec<usize> = needed.iter().copied().filter(|&k| self.keys.galois.get(k).is_none()).collect();
        if let Some(first) = missing.first() {
            return Err(crate::protocol::ProtocolError::mismatch(format!(
                "the bundle {} lacks {} of the {} Galois keys bootstrapping needs (element {first} among them): it was \
                 made for another bootstrapping circuit (another preset, or an older hetal); make the keys again with \
                 `hetal keygen`",
                self.origin.display(),
                missing.len(),
                needed.len()
            )));
        }
        Ok(())
    }

    /// Reads and checks the bundle. A secret-key file is refused with a message that says the
    /// server takes public keys only, and so is a bundle with any part beyond its three.
    pub fn read(path: &Path) -> Result<Self, FileError> {
        if ReadContainer::peek_kind(path) == Some(FileKind::SecretKey) {
            return Err(FileError::format(
                path,
                "this is the client's SECRET key; the server takes only the public bundle \
                 (public.hbundle) and never a secret key",
            ));
        }
        let c = ReadContainer::read(path, FileKind::PublicBundle)?;
        let parts = c.exact_parts(path, &["parameters", "evaluation keys", "bootstrapping keys"])?;
        let (preset, params) = preset_and_params(path, &c, parts[0])?;
        let keys = EvaluationKeys::from_bytes_with(&params, parts[1]).map_err(|e| FileError::scheme(path, e))?;
        let key = Fingerprint::of_public_key(&keys.public).map_err(|e| FileError::scheme(path, e))?;
        if key != c.binding.key {
            return Err(FileError::format(
                path,
                format!("the header names key {} but the public key in the file is {key}", c.binding.key),
            ));
        }
        let bootstrap = BootstrapKeys::from_bytes(&params, parts[2]).map_err(|e| FileError::scheme(path, e))?;
        Ok(Self { preset, task: task_of(path, &c)?, params, keys, bootstrap, key, origin: path.into() })
    }
}

/// Makes a key pair for `task` under `preset`: the secret key file and the public bundle with
/// exactly the rotations of the task's key plan, conjugation, and bootstrapping's keys.
/// `seed` makes the keys reproducible (and predictable: tests and demos only); without it every
/// draw uses OS entropy. `phase` hears what is being made, for progress displays.
pub fn generate(
    preset: TrainPreset,
    task: &TaskShape,
    seed: Option<u64>,
    phase: &mut dyn FnMut(&str),
) -> Result<(SecretKeyFile, PublicBundle), crate::protocol::ProtocolError> {
    use ckks_scheme::KeyGenerator;
    task.check()?;
    let params = preset.build()?;
    let plan = task.key_plan(preset, &params)?;
    phase("generating keys");
    let mut kg = match seed {
        Some(s) => KeyGenerator::from_seed(&params, crate::schedule::derived_seed(s, 1)),
        None => KeyGenerator::new(&params),
    };
    let sk = kg.secret_key()?;
    // Keys at the level where they are used: the training rotations' keys stop at the data
    // level (no training step rotates above it), unless bootstrapping shares the element.
    let mut keys = kg.evaluation_keys(&sk, &[], true)?;
    let training: Vec<usize> = plan.rotations.iter().map(|&r| ckks_scheme::rotation_element(&params, r)).collect();
    phase("generating rotation and bootstrapping keys");
    let bootstrap = plan.bootstrap.generate_keys_with(&mut kg, &sk, &mut keys.galois, &training, plan.data_level)?;
    let key = Fingerprint::of_public_key(&keys.public)?;
    let origin = std::path::PathBuf::from("(in memory)");
    let bundle = PublicBundle { preset, task: task.clone(), params: params.clone(), keys, bootstrap, key, origin };
    Ok((SecretKeyFile { preset, task: task.clone(), params, sk, key }, bundle))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bundle has every key of its own preset's circuit, and is refused, naming what it
    /// lacks, by another circuit's: the same one for 64 sparse slots, whose trace and DFTs
    /// rotate by other amounts. (The compact preset's 8 baby steps give other keys at
    /// `N = 2^16` only: at the `N = 2^12` used here, with the runs the DFTs' cost model picks,
    /// both circuits need the same keys.)
    #[test]
    fn bundles_are_checked_against_the_circuit_that_uses_them() {
        use super::super::task::job_bootstrapper;
        use ckks_scheme::circuits::bootstrap::Bootstrapper;
        let task = TaskShape { classes: 3, features: 7, batch: 16, compact_softmax: false };
        let (secret, bundle) = generate(TrainPreset::InsecureTrainN12, &task, Some(5), &mut |_| {}).unwrap();
        let own = job_bootstrapper(TrainPreset::InsecureTrainN12, &secret.params, 12).unwrap().unwrap();
        bundle.check_bootstrap_keys(&own).unwrap();
        let other = Bootstrapper::with_slots(&secret.params, own.config().clone(), 64).unwrap();
        let e = bundle.check_bootstrap_keys(&other).unwrap_err().to_string();
        assert!(e.contains("lacks") && e.contains("another bootstrapping circuit"), "{e}");
    }

    /// A bundle made for the compact softmax has the sparse circuit's keys (its encapsulation
    /// keys are the full circuit's) and the fold's and unfold's rotations at the data level; one
    /// made without it lacks them.
    #[test]
    fn compact_softmax_bundles_carry_the_sparse_circuit() {
        use super::super::task::{job_bootstrapper, sparse_bootstrapper};
        use crate::encrypted::TrainingSetup;
        let preset = TrainPreset::InsecureTrainN12;
        let task = TaskShape { classes: 3, features: 7, batch: 32, compact_softmax: true };
        let (secret, bundle) = generate(preset, &task, Some(5), &mut |_| {}).unwrap();
        let params = &secret.params;
        let boot = job_bootstrapper(preset, params, 12).unwrap().unwrap();
        let setup = TrainingSetup::for_shape(3, 7, 32, params, boot.output_level()).unwrap();
        let sparse = sparse_bootstrapper(params, &boot, &setup).unwrap();
        assert_eq!(sparse.slots(), 128);
        bundle.check_bootstrap_keys(&boot).unwrap();
        bundle.check_bootstrap_keys(&sparse).unwrap();
        bundle.check_rotation_levels(&setup.compact_rotation_steps(params).unwrap(), boot.output_level()).unwrap();
        let plain = TaskShape { compact_softmax: false, ..task };
        let (_, without) = generate(preset, &plain, Some(5), &mut |_| {}).unwrap();
        let e = without.check_bootstrap_keys(&sparse).unwrap_err().to_string();
        assert!(e.contains("lacks"), "{e}");
        assert!(without.keys.galois.elements().count() < bundle.keys.galois.elements().count());
    }

    /// Training rotations get keys truncated to the data level, except those bootstrapping
    /// shares: whole for CoeffToSlot's, SlotToCoeff's level if that is higher.
    #[test]
    fn keys_sit_at_the_level_where_they_are_used() {
        let task = TaskShape { classes: 3, features: 7, batch: 16, compact_softmax: false };
        let (secret, bundle) = generate(TrainPreset::InsecureTrainN12, &task, Some(5), &mut |_| {}).unwrap();
        let plan = task.key_plan(TrainPreset::InsecureTrainN12, &secret.params).unwrap();
        let (full, stc) = (plan.bootstrap.full_elements(), plan.bootstrap.truncated_elements());
        let top = secret.params.max_level();
        let stc_level = plan.bootstrap.truncated_level().max(plan.data_level);
        let mut truncated = 0;
        for &r in &plan.rotations {
            let k = ckks_scheme::rotation_element(&secret.params, r);
            let level = bundle.keys.galois.get(k).unwrap_or_else(|| panic!("no key for rotation {r}")).max_level();
            if full.contains(&k) {
                assert_eq!(level, top, "rotation {r} is CoeffToSlot's too");
            } else if stc.contains(&k) {
                assert_eq!(level, stc_level, "rotation {r} is SlotToCoeff's too");
            } else {
                assert_eq!(level, plan.data_level, "rotation {r}");
                truncated += 1;
            }
        }
        assert!(truncated > 0 && plan.data_level < top);
        // A job whose data sits higher (SlotToCoeff first: 3 levels) needs other keys.
        bundle.check_rotation_levels(&plan.rotations, plan.data_level).unwrap();
        let err = bundle.check_rotation_levels(&plan.rotations, plan.data_level + 3).unwrap_err().to_string();
        assert!(err.contains(&format!("reach level {}", plan.data_level)) && err.contains("keygen"), "{err}");
        let absent = (1i64..)
            .find(|&r| bundle.keys.galois.get(ckks_scheme::rotation_element(&secret.params, r)).is_none())
            .unwrap();
        let err = bundle.check_rotation_levels(&[absent], plan.data_level).unwrap_err().to_string();
        assert!(err.contains(&format!("reach level no for rotation {absent}")), "{err}");

        // The keys streamed into the file are the bytes of `to_bytes`, and read back whole.
        let dir = std::env::temp_dir().join(format!("hetal-bundle-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("public.hbundle");
        let size = bundle.write(&path).unwrap();
        assert_eq!(size, std::fs::metadata(&path).unwrap().len());
        let c = ReadContainer::read(&path, FileKind::PublicBundle).unwrap();
        let keys = bundle.keys.to_bytes().unwrap();
        assert_eq!(c.parts().nth(1).unwrap(), &keys[..]);
        assert_eq!(bundle.keys.encoded_len().unwrap(), keys.len() as u64);
        let back = PublicBundle::read(&path).unwrap();
        assert_eq!(back.keys.to_bytes().unwrap(), keys);
        assert_eq!(back.key, bundle.key);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
