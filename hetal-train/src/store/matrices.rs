//! Named encrypted matrices in one [`FileKind::Matrices`] container (a batch, the validation
//! set, weights, validation outputs) or inside a checkpoint: each matrix's layout in the
//! metadata, its blocks as parts.

use super::container::{meta_field, Container, ReadContainer};
use super::fingerprint::Binding;
use super::{FileError, FileKind};
use ckks_scheme::{Ciphertext, Parameters, SchemeError, SeededCiphertext};
use hetal_linalg::{BlockLayout, EncryptedMatrix, Tiling, UnitShape};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The layout of a stored matrix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayoutMeta {
    /// Logical rows.
    pub rows: usize,
    /// Logical columns.
    pub cols: usize,
    /// Unit shape rows.
    pub s0: usize,
    /// Unit shape columns.
    pub s1: usize,
    /// `none`, `vertical` or `horizontal`.
    pub tiling: String,
    /// The tiling period (0 for none).
    pub period: usize,
    /// Number of blocks (ciphertexts).
    pub blocks: usize,
}

impl LayoutMeta {
    /// The description of `l`.
    pub fn of(l: &BlockLayout) -> Self {
        let (tiling, period) = match l.tiling {
            Tiling::None => ("none", 0),
            Tiling::Vertical { period } => ("vertical", period),
            Tiling::Horizontal { period } => ("horizontal", period),
        };
        Self {
            rows: l.rows,
            cols: l.cols,
            s0: l.unit.s0,
            s1: l.unit.s1,
            tiling: tiling.into(),
            period,
            blocks: l.blocks(),
        }
    }

    /// The layout described, checked (unit shape, tiling, block count).
    pub fn layout(&self, path: &Path) -> Result<BlockLayout, FileError> {
        let tiling = match self.tiling.as_str() {
            "none" => Tiling::None,
            "vertical" => Tiling::Vertical { period: self.period },
            "horizontal" => Tiling::Horizontal { period: self.period },
            t => return Err(FileError::format(path, format!("unknown tiling '{t}'"))),
        };
        let slots = self.s0.checked_mul(self.s1).ok_or_else(|| FileError::format(path, "unit shape overflows"))?;
        let unit = UnitShape::new(self.s0, slots).map_err(|e| FileError::layout(path, e))?;
        let layout = BlockLayout::new(self.rows, self.cols, unit, tiling).map_err(|e| FileError::layout(path, e))?;
        if layout.blocks() != self.blocks {
            return Err(FileError::format(
                path,
                format!("{} blocks stored for a layout of {}", self.blocks, layout.blocks()),
            ));
        }
        Ok(layout)
    }
}

/// One block as stored: a full ciphertext, or a fresh secret-key ciphertext as `(c_0, seed)`
/// (half the size; what the client sends).
pub enum Block {
    /// A full ciphertext.
    Full(Ciphertext),
    /// A seeded fresh ciphertext.
    Seeded(SeededCiphertext),
}

/// Named matrices read from a file, with the file's other metadata.
pub struct MatrixFile {
    /// `(name, layout, blocks)` in order.
    pub matrices: Vec<(String, BlockLayout, Vec<Block>)>,
    /// Extra metadata (epoch, role, ...).
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The bytes of every block of `m` (full ciphertexts).
pub fn block_bytes(m: &EncryptedMatrix) -> Result<Vec<Vec<u8>>, SchemeError> {
    m.blocks().iter().map(Ciphertext::to_bytes).collect()
}

/// The container of `matrices` (name, layout, block bytes) with `extra` metadata.
pub fn matrices_container(
    kind: FileKind,
    binding: Binding,
    matrices: &[(&str, &BlockLayout, Vec<Vec<u8>>)],
    extra: serde_json::Map<String, serde_json::Value>,
) -> Container {
    let mut meta = extra;
    let list: Vec<serde_json::Value> =
        matrices.iter().map(|(name, l, _)| serde_json::json!({ "name": name, "layout": LayoutMeta::of(l) })).collect();
    meta.insert("matrices".into(), list.into());
    let parts = matrices.iter().flat_map(|(_, _, blocks)| blocks.iter().cloned()).collect();
    Container { kind, binding, meta: meta.into(), parts }
}

/// Stores `matrices` with their names and `extra` metadata at `path` (atomically), bound to
/// `binding`; returns the file's size.
pub fn write_matrices(
    path: &Path,
    binding: Binding,
    matrices: &[(&str, &BlockLayout, Vec<Vec<u8>>)],
    extra: serde_json::Map<String, serde_json::Value>,
) -> Result<u64, FileError> {
    matrices_container(FileKind::Matrices, binding, matrices, extra).write(path, false)
}

/// Reads the matrices of `path` under `params`, refusing a file bound to another key or job
/// than `binding`; every block is checked against the parameters.
pub fn read_matrices(path: &Path, params: &Parameters, binding: &Binding) -> Result<MatrixFile, FileError> {
    let c = ReadContainer::read(path, FileKind::Matrices)?;
    c.check_binding(path, binding)?;
    matrices_of(path, &c, params)
}

/// The matrices of a container read from `path`.
pub fn matrices_of(path: &Path, c: &ReadContainer, params: &Parameters) -> Result<MatrixFile, FileError> {
    let list: Vec<serde_json::Value> = c.meta_field(path, "matrices")?;
    let mut parts = c.parts();
    let mut matrices = Vec::with_capacity(list.len().min(c.part_count()));
    for entry in list {
        let name: String = serde_json::from_value(entry["name"].clone())
            .map_err(|e| FileError::format(path, format!("matrix name: {e}")))?;
        let lm: LayoutMeta = serde_json::from_value(entry["layout"].clone())
            .map_err(|e| FileError::format(path, format!("layout of '{name}': {e}")))?;
        let layout = lm.layout(path)?;
        if layout.blocks() > c.part_count() {
            return Err(FileError::format(
                path,
                format!("'{name}' needs {} blocks, the file has {}", layout.blocks(), c.part_count()),
            ));
        }
        let mut blocks = Vec::with_capacity(layout.blocks());
        for _ in 0..layout.blocks() {
            let bytes = parts.next().ok_or_else(|| FileError::format(path, format!("'{name}' lacks blocks")))?;
            let header = ckks_scheme::serialize::read_header(bytes).map_err(|e| FileError::scheme(path, e))?;
            let block = match header.kind {
                ckks_scheme::serialize::Kind::SeededCiphertext => {
                    Block::Seeded(SeededCiphertext::from_bytes(params, bytes).map_err(|e| FileError::scheme(path, e))?)
                }
                _ => Block::Full(Ciphertext::from_bytes(params, bytes).map_err(|e| FileError::scheme(path, e))?),
            };
            blocks.push(block);
        }
        matrices.push((name, layout, blocks));
    }
    if parts.next().is_some() {
        return Err(FileError::format(path, "more blocks than the layouts hold"));
    }
    let mut extra = c.meta.clone();
    extra.remove("matrices");
    Ok(MatrixFile { matrices, extra })
}

impl MatrixFile {
    /// The matrix `name`, with seeded blocks expanded.
    pub fn take(&mut self, path: &Path, name: &str) -> Result<EncryptedMatrix, FileError> {
        let i = self
            .matrices
            .iter()
            .position(|(n, _, _)| n == name)
            .ok_or_else(|| FileError::format(path, format!("no matrix '{name}' in the file")))?;
        let (_, layout, blocks) = self.matrices.remove(i);
        let blocks = blocks
            .into_iter()
            .map(|b| match b {
                Block::Full(ct) => Ok(ct),
                Block::Seeded(s) => s.expand(),
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| FileError::scheme(path, e))?;
        EncryptedMatrix::from_blocks(layout, blocks).map_err(|e| FileError::layout(path, e))
    }

    /// An extra metadata field.
    pub fn field<T: serde::de::DeserializeOwned>(&self, path: &Path, field: &str) -> Result<T, FileError> {
        meta_field(path, &self.extra, field)
    }
}
