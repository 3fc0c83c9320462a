//! Resumable training: the server's [`ServerState`] (encrypted weights, momentum and best
//! model, epoch, step, `lambda`) in a versioned binary file, written atomically (a temporary
//! file in the same folder, synced, then renamed over the target). Ciphertexts are stored with
//! `ckks_scheme::serialize` (each with its own header naming the parameters), so loading under
//! other parameters fails. The client's side of a resume is its seed and epoch: its ChaCha20
//! stream is replayed by [`super::TrainingClient`] drawing the same permutations.
//!
//! Layout (little endian): `HETALTRN`, version `u16`, epoch `u64`, step `u64`, `lambda` `f64`,
//! stopped `u8`, best epoch `u64`, then the matrices `W`, `V`, best `W`, each as rows, cols,
//! `s0`, `s1` (`u64`), tiling tag `u8` (0 none, 1 vertical, 2 horizontal), period `u64`,
//! block count `u64`, and per block its byte length `u64` and `Ciphertext::to_bytes`.

use super::{EncryptedModel, EncryptedTrainError, ServerState};
use crate::plain::NesterovSchedule;
use ckks_scheme::{Ciphertext, Parameters};
use hetal_linalg::{BlockLayout, EncryptedMatrix, Tiling, UnitShape};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The magic bytes of a training checkpoint.
pub const MAGIC: [u8; 8] = *b"HETALTRN";
/// The format version; loading refuses others.
pub const VERSION: u16 = 1;

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_matrix(out: &mut Vec<u8>, m: &EncryptedMatrix) -> Result<(), String> {
    let l = m.layout();
    for v in [l.rows, l.cols, l.unit.s0, l.unit.s1] {
        put_u64(out, v as u64);
    }
    let (tag, period) = match l.tiling {
        Tiling::None => (0u8, 0),
        Tiling::Vertical { period } => (1, period),
        Tiling::Horizontal { period } => (2, period),
    };
    out.push(tag);
    put_u64(out, period as u64);
    put_u64(out, m.blocks().len() as u64);
    for ct in m.blocks() {
        let bytes = ct.to_bytes().map_err(|e| e.to_string())?;
        put_u64(out, bytes.len() as u64);
        out.extend_from_slice(&bytes);
    }
    Ok(())
}

/// The bytes of `state`.
pub fn to_bytes(state: &ServerState) -> Result<Vec<u8>, String> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&VERSION.to_le_bytes());
    put_u64(&mut out, state.epoch as u64);
    put_u64(&mut out, state.step as u64);
    out.extend_from_slice(&state.schedule.lambda().to_le_bytes());
    out.push(u8::from(state.stopped));
    put_u64(&mut out, state.best.epoch as u64);
    for m in [&state.w, &state.v, &state.best.w] {
        put_matrix(&mut out, m)?;
    }
    Ok(out)
}

/// A cursor that refuses to read past the end.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or("truncated file")?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u64(&mut self) -> Result<u64, String> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(b))
    }

    fn usize(&mut self) -> Result<usize, String> {
        usize::try_from(self.u64()?).map_err(|_| "value out of range".to_string())
    }

    fn matrix(&mut self, params: &Parameters) -> Result<EncryptedMatrix, String> {
        let (rows, cols, s0, s1) = (self.usize()?, self.usize()?, self.usize()?, self.usize()?);
        let tag = self.take(1)?[0];
        let period = self.usize()?;
        let tiling = match tag {
            0 => Tiling::None,
            1 => Tiling::Vertical { period },
            2 => Tiling::Horizontal { period },
            t => return Err(format!("unknown tiling tag {t}")),
        };
        let slots = s0.checked_mul(s1).ok_or("unit shape overflows")?;
        let unit = UnitShape::new(s0, slots).map_err(|e| e.to_string())?;
        let layout = BlockLayout::new(rows, cols, unit, tiling).map_err(|e| e.to_string())?;
        let n = self.usize()?;
        if n != layout.blocks() {
            return Err(format!("{n} blocks for a layout of {}", layout.blocks()));
        }
        let mut blocks = Vec::with_capacity(n);
        for _ in 0..n {
            let len = self.usize()?;
            let ct = Ciphertext::from_bytes(params, self.take(len)?).map_err(|e| e.to_string())?;
            blocks.push(ct);
        }
        EncryptedMatrix::from_blocks(layout, blocks).map_err(|e| e.to_string())
    }
}

/// The state from [`to_bytes`], its ciphertexts checked against `params`.
pub fn from_bytes(params: &Parameters, bytes: &[u8]) -> Result<ServerState, String> {
    let mut r = Reader { bytes, pos: 0 };
    if r.take(8)? != MAGIC {
        return Err("not a hetal training checkpoint (bad magic bytes)".into());
    }
    let version = u16::from_le_bytes([r.take(1)?[0], r.take(1)?[0]]);
    if version != VERSION {
        return Err(format!("checkpoint version {version}, this build reads {VERSION}"));
    }
    let (epoch, step) = (r.usize()?, r.usize()?);
    let mut lb = [0u8; 8];
    lb.copy_from_slice(r.take(8)?);
    let lambda = f64::from_le_bytes(lb);
    if !(lambda.is_finite() && lambda >= 1.0) {
        return Err(format!("lambda {lambda} is not a value of the schedule"));
    }
    let stopped = match r.take(1)?[0] {
        0 => false,
        1 => true,
        b => return Err(format!("bad stopped flag {b}")),
    };
    let best_epoch = r.usize()?;
    let (w, v, best_w) = (r.matrix(params)?, r.matrix(params)?, r.matrix(params)?);
    if r.pos != bytes.len() {
        return Err(format!("{} trailing bytes", bytes.len() - r.pos));
    }
    Ok(ServerState {
        w,
        v,
        epoch,
        step,
        schedule: NesterovSchedule::resume(lambda),
        best: EncryptedModel { epoch: best_epoch, w: best_w },
        stopped,
    })
}

fn err(path: &Path, reason: impl Into<String>) -> EncryptedTrainError {
    EncryptedTrainError::Checkpoint { path: path.to_path_buf(), reason: reason.into() }
}

/// Writes `state` to `path` atomically: `path` is either the old file or the complete new one.
pub fn save(path: &Path, state: &ServerState) -> Result<(), EncryptedTrainError> {
    let bytes = to_bytes(state).map_err(|e| err(path, e))?;
    let mut tmp = PathBuf::from(path);
    let name = path.file_name().ok_or_else(|| err(path, "no file name"))?.to_string_lossy().into_owned();
    tmp.set_file_name(format!(".{name}.tmp"));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(path, e.to_string())
    })
}

/// Reads a state written by [`save`], its ciphertexts under `params`.
pub fn load(path: &Path, params: &Parameters) -> Result<ServerState, EncryptedTrainError> {
    let bytes = std::fs::read(path).map_err(|e| err(path, e.to_string()))?;
    from_bytes(params, &bytes).map_err(|e| err(path, e))
}
