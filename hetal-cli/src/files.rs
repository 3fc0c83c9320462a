//! The files of the `hetal` command line: one versioned container format for keys and
//! encrypted matrices, JSON for everything a person may read, and atomic writes.
//!
//! Container layout (little endian): magic `HETALCLI`, format version `u16`, kind `u8`,
//! metadata length `u64` and metadata (JSON), part count `u64`, then per part its length `u64`
//! and bytes, and last an FNV-1a 64-bit checksum of everything before it. Parts are
//! `ckks_scheme::serialize` blobs, which carry their own headers naming the parameters, so a
//! ciphertext loaded under other parameters is refused there as well.
//!
//! Every file is written to a temporary name in the same folder, synced and renamed, so an
//! interrupted command never leaves a half-written file under the real name, and a failed
//! command never replaces a good file.

use ckks_scheme::{Ciphertext, Parameters, SchemeError, SeededCiphertext};
use hetal_linalg::{BlockLayout, EncryptedMatrix, LinalgError, Tiling, UnitShape};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The magic bytes of every container file.
pub const MAGIC: [u8; 8] = *b"HETALCLI";
/// The container format version; loading refuses others.
pub const VERSION: u16 = 1;

/// What a container holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// The client's secret key (parameters, secret key). Never sent to the server.
    SecretKey = 1,
    /// The server's public bundle (parameters, evaluation keys, bootstrapping keys).
    PublicBundle = 2,
    /// Named encrypted matrices (a batch, the validation set, weights, validation outputs).
    Matrices = 3,
}

impl FileKind {
    fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(Self::SecretKey),
            2 => Some(Self::PublicBundle),
            3 => Some(Self::Matrices),
            _ => None,
        }
    }

    /// A name for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Self::SecretKey => "a secret key",
            Self::PublicBundle => "a public key bundle",
            Self::Matrices => "encrypted matrices",
        }
    }
}

/// What can go wrong with a file; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The bytes are not a valid file of this format (truncated, corrupt, wrong version).
    #[error("{path}: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The file is of another kind than the command expects.
    #[error("{path}: expected {expected}, but the file holds {found}")]
    Kind {
        /// The file.
        path: PathBuf,
        /// What the command needs.
        expected: &'static str,
        /// What the file holds.
        found: &'static str,
    },
    /// A CKKS object in the file is corrupt or made under other parameters.
    #[error("{path}: {source}")]
    Scheme {
        /// The file.
        path: PathBuf,
        /// The CKKS error.
        source: SchemeError,
    },
    /// A matrix layout in the file is invalid.
    #[error("{path}: {source}")]
    Layout {
        /// The file.
        path: PathBuf,
        /// The layout error.
        source: LinalgError,
    },
    /// A JSON file does not parse.
    #[error("{path}: not a valid {what}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// What the file should hold.
        what: &'static str,
        /// The parse error.
        source: serde_json::Error,
    },
}

impl FileError {
    fn format(path: &Path, reason: impl Into<String>) -> Self {
        Self::Format { path: path.into(), reason: reason.into() }
    }

    /// Wraps a CKKS error with the file's name.
    pub fn scheme(path: &Path, source: SchemeError) -> Self {
        Self::Scheme { path: path.into(), source }
    }
}

/// FNV-1a, 64 bits: detects truncation and flipped bytes (not an adversary).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h = Fnv::new();
    h.feed(bytes);
    h.0
}

/// A container to write: its kind, JSON metadata and binary parts.
#[derive(Clone, Debug)]
pub struct Container {
    /// What it holds.
    pub kind: FileKind,
    /// Metadata (JSON object).
    pub meta: serde_json::Value,
    /// The parts.
    pub parts: Vec<Vec<u8>>,
}

/// A container read from a file: the file's bytes once, parts as ranges into them (a public
/// bundle at N = 2^16 is several GB: no second copy).
pub struct ReadContainer {
    /// Metadata (JSON object).
    pub meta: serde_json::Value,
    bytes: Vec<u8>,
    parts: Vec<std::ops::Range<usize>>,
}

impl std::fmt::Debug for ReadContainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The bytes can be gigabytes: show the metadata and the part sizes only.
        let sizes: Vec<usize> = self.parts.iter().map(|r| r.len()).collect();
        f.debug_struct("ReadContainer").field("meta", &self.meta).field("part_sizes", &sizes).finish()
    }
}

/// FNV-1a over several slices, as if concatenated.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
    fn feed(&mut self, bytes: &[u8]) {
        self.0 = bytes.iter().fold(self.0, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    }
}

impl Container {
    /// Streams the container to `w` (checksum computed on the way); returns the bytes written.
    pub fn write_to(&self, w: &mut impl Write) -> std::io::Result<u64> {
        let meta = serde_json::to_vec(&self.meta).expect("a JSON value always serializes");
        let mut sum = Fnv::new();
        let mut n = 0u64;
        let mut put = |w: &mut dyn Write, b: &[u8]| -> std::io::Result<()> {
            sum.feed(b);
            n += b.len() as u64;
            w.write_all(b)
        };
        put(w, &MAGIC)?;
        put(w, &VERSION.to_le_bytes())?;
        put(w, &[self.kind as u8])?;
        put(w, &(meta.len() as u64).to_le_bytes())?;
        put(w, &meta)?;
        put(w, &(self.parts.len() as u64).to_le_bytes())?;
        for p in &self.parts {
            put(w, &(p.len() as u64).to_le_bytes())?;
            put(w, p)?;
        }
        let total = n + 8;
        w.write_all(&sum.0.to_le_bytes())?;
        Ok(total)
    }

    /// The bytes of the container.
    #[cfg(test)]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out).expect("writing to a Vec cannot fail");
        out
    }

    /// Writes the container atomically to `path` (mode 0600 if `private`), streaming it.
    pub fn write(&self, path: &Path, private: bool) -> Result<u64, FileError> {
        let mut n = 0;
        write_atomic_with(path, private, |f| {
            n = self.write_to(&mut std::io::BufWriter::with_capacity(1 << 20, f))?;
            Ok(())
        })?;
        Ok(n)
    }
}

impl ReadContainer {
    /// Parses `bytes` (read from `path`, named in errors); refuses other kinds than `expected`.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>, expected: FileKind) -> Result<Self, FileError> {
        if bytes.len() < 8 || bytes[..8] != MAGIC {
            return Err(FileError::format(path, "not a hetal file (bad magic bytes)"));
        }
        if bytes.len() < 8 + 2 + 1 + 8 + 8 + 8 {
            return Err(FileError::format(path, format!("truncated: {} bytes", bytes.len())));
        }
        let (body, sum) = bytes.split_at(bytes.len() - 8);
        let body: &[u8] = body;
        let version = u16::from_le_bytes([body[8], body[9]]);
        if version != VERSION {
            return Err(FileError::format(
                path,
                format!("file format version {version} is not supported (this hetal reads version {VERSION})"),
            ));
        }
        if fnv1a(body) != u64::from_le_bytes(sum.try_into().expect("8 bytes")) {
            return Err(FileError::format(path, "checksum mismatch: the file is truncated or corrupt"));
        }
        let kind = FileKind::from_byte(body[10])
            .ok_or_else(|| FileError::format(path, format!("unknown file kind {}", body[10])))?;
        if kind != expected {
            return Err(FileError::Kind { path: path.into(), expected: expected.describe(), found: kind.describe() });
        }
        let mut r = Reader { bytes: body, pos: 11, path };
        let meta_len = r.len()?;
        let meta = serde_json::from_slice(r.take(meta_len)?)
            .map_err(|e| FileError::format(path, format!("corrupt metadata: {e}")))?;
        let count = r.len()?;
        let mut parts = Vec::with_capacity(count.min(1 << 16));
        for _ in 0..count {
            let n = r.len()?;
            let start = r.pos;
            r.take(n)?;
            parts.push(start..start + n);
        }
        if r.pos != body.len() {
            return Err(FileError::format(path, "trailing bytes after the last part"));
        }
        Ok(Self { meta, bytes, parts })
    }

    /// Reads and parses the file at `path`.
    pub fn read(path: &Path, expected: FileKind) -> Result<Self, FileError> {
        let bytes = std::fs::read(path).map_err(|source| FileError::Io { path: path.into(), source })?;
        Self::from_bytes(path, bytes, expected)
    }

    /// All parts in order.
    pub fn parts(&self) -> impl Iterator<Item = &[u8]> {
        self.parts.iter().map(|r| &self.bytes[r.clone()])
    }

    /// The kind of the file at `path`, if it is a container (for refusing secret keys).
    pub fn peek_kind(path: &Path) -> Option<FileKind> {
        let mut head = [0u8; 11];
        let mut f = std::fs::File::open(path).ok()?;
        std::io::Read::read_exact(&mut f, &mut head).ok()?;
        (head[..8] == MAGIC).then(|| FileKind::from_byte(head[10])).flatten()
    }

    /// Part `i`, or a format error naming what is missing.
    pub fn part(&self, path: &Path, i: usize, what: &str) -> Result<&[u8], FileError> {
        self.parts
            .get(i)
            .map(|r| &self.bytes[r.clone()])
            .ok_or_else(|| FileError::format(path, format!("missing part: {what}")))
    }

    /// A metadata field deserialized, or a format error naming it.
    pub fn meta_field<T: serde::de::DeserializeOwned>(&self, path: &Path, field: &str) -> Result<T, FileError> {
        let v = self.meta.get(field).ok_or_else(|| FileError::format(path, format!("metadata lacks '{field}'")))?;
        serde_json::from_value(v.clone()).map_err(|e| FileError::format(path, format!("metadata '{field}': {e}")))
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl<'a> Reader<'a> {
    fn len(&mut self) -> Result<usize, FileError> {
        let b = self.take(8)?;
        let v = u64::from_le_bytes(b.try_into().expect("8 bytes"));
        usize::try_from(v)
            .ok()
            .filter(|&n| n <= self.bytes.len())
            .ok_or_else(|| FileError::format(self.path, format!("length {v} exceeds the file")))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], FileError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| FileError::format(self.path, "truncated"))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder (synced, then renamed
/// over `path`), creating the folder if needed. With `private` the file has mode 0600 from
/// its creation on (Unix).
pub fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> Result<(), FileError> {
    write_atomic_with(path, private, |f| f.write_all(bytes))
}

/// [`write_atomic`] with the content written by `fill` into the temporary file.
pub fn write_atomic_with(
    path: &Path,
    private: bool,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<(), FileError> {
    let io = |source| FileError::Io { path: path.into(), source };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        #[cfg(not(unix))]
        let _ = private;
        let mut f = opts.open(&tmp)?;
        fill(&mut f)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

/// Writes `value` as pretty JSON, atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), FileError> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("serializable values");
    bytes.push(b'\n');
    write_atomic(path, &bytes, false)
}

/// Reads a JSON file.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &'static str) -> Result<T, FileError> {
    let bytes = std::fs::read(path).map_err(|source| FileError::Io { path: path.into(), source })?;
    serde_json::from_slice(&bytes).map_err(|source| FileError::Json { path: path.into(), what, source })
}

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
    fn of(l: &BlockLayout) -> Self {
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

    fn layout(&self, path: &Path) -> Result<BlockLayout, FileError> {
        let layout_err = |source| FileError::Layout { path: path.into(), source };
        let tiling = match self.tiling.as_str() {
            "none" => Tiling::None,
            "vertical" => Tiling::Vertical { period: self.period },
            "horizontal" => Tiling::Horizontal { period: self.period },
            t => return Err(FileError::format(path, format!("unknown tiling '{t}'"))),
        };
        let unit = UnitShape::new(self.s0, self.s0.checked_mul(self.s1).unwrap_or(0)).map_err(layout_err)?;
        let layout = BlockLayout::new(self.rows, self.cols, unit, tiling).map_err(layout_err)?;
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

/// Named matrices in one [`FileKind::Matrices`] container, with extra metadata.
pub struct MatrixFile {
    /// `(name, layout, blocks)` in order.
    pub matrices: Vec<(String, BlockLayout, Vec<Block>)>,
    /// Extra metadata (epoch, role, ...).
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Stores `matrices` with their names and `extra` metadata at `path` (atomically).
pub fn write_matrices(
    path: &Path,
    matrices: &[(&str, &BlockLayout, Vec<Vec<u8>>)],
    extra: serde_json::Map<String, serde_json::Value>,
) -> Result<u64, FileError> {
    let mut meta = extra;
    let list: Vec<serde_json::Value> =
        matrices.iter().map(|(name, l, _)| serde_json::json!({ "name": name, "layout": LayoutMeta::of(l) })).collect();
    meta.insert("matrices".into(), list.into());
    let parts = matrices.iter().flat_map(|(_, _, blocks)| blocks.iter().cloned()).collect();
    Container { kind: FileKind::Matrices, meta: meta.into(), parts }.write(path, false)
}

/// The bytes of every block of `m` (full ciphertexts).
pub fn block_bytes(m: &EncryptedMatrix) -> Result<Vec<Vec<u8>>, SchemeError> {
    m.blocks().iter().map(Ciphertext::to_bytes).collect()
}

/// Reads the matrices of `path` under `params` (every block checked against them).
pub fn read_matrices(path: &Path, params: &Parameters) -> Result<MatrixFile, FileError> {
    let c = ReadContainer::read(path, FileKind::Matrices)?;
    let list: Vec<serde_json::Value> = c.meta_field(path, "matrices")?;
    let mut parts = c.parts();
    let mut matrices = Vec::with_capacity(list.len());
    for entry in list {
        let name: String = serde_json::from_value(entry["name"].clone())
            .map_err(|e| FileError::format(path, format!("matrix name: {e}")))?;
        let lm: LayoutMeta = serde_json::from_value(entry["layout"].clone())
            .map_err(|e| FileError::format(path, format!("layout of '{name}': {e}")))?;
        let layout = lm.layout(path)?;
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
    let mut extra = match c.meta.clone() {
        serde_json::Value::Object(m) => m,
        _ => return Err(FileError::format(path, "metadata is not a JSON object")),
    };
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
        EncryptedMatrix::from_blocks(layout, blocks).map_err(|source| FileError::Layout { path: path.into(), source })
    }

    /// An extra metadata field.
    pub fn field<T: serde::de::DeserializeOwned>(&self, path: &Path, field: &str) -> Result<T, FileError> {
        let v = self.extra.get(field).ok_or_else(|| FileError::format(path, format!("metadata lacks '{field}'")))?;
        serde_json::from_value(v.clone()).map_err(|e| FileError::format(path, format!("metadata '{field}': {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("hetal-files-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn container_round_trip_and_corruption() {
        let c = Container {
            kind: FileKind::Matrices,
            meta: serde_json::json!({ "a": 1 }),
            parts: vec![vec![1, 2, 3], vec![], vec![9; 100]],
        };
        let bytes = c.to_bytes();
        let p = Path::new("x.hmat");
        let back = ReadContainer::from_bytes(p, bytes.clone(), FileKind::Matrices).unwrap();
        assert_eq!(back.parts().map(<[u8]>::to_vec).collect::<Vec<_>>(), c.parts);
        assert_eq!(back.parts().count(), 3);
        assert_eq!(back.meta, c.meta);
        // Every truncation and every flipped byte is refused with a message naming the file.
        for cut in [0, 5, 11, 20, bytes.len() - 1] {
            let e = ReadContainer::from_bytes(p, bytes[..cut].to_vec(), FileKind::Matrices).unwrap_err();
            assert!(e.to_string().starts_with("x.hmat: "), "{e}");
        }
        for i in (8..bytes.len()).step_by(7) {
            let mut b = bytes.clone();
            b[i] ^= 0x40;
            assert!(ReadContainer::from_bytes(p, b, FileKind::Matrices).is_err(), "flip at {i}");
        }
        let e = ReadContainer::from_bytes(p, bytes, FileKind::SecretKey).unwrap_err();
        assert!(e.to_string().contains("expected a secret key"), "{e}");
    }

    #[test]
    fn atomic_write_keeps_the_old_file_on_failure_and_sets_private_mode() {
        let d = temp("atomic");
        let p = d.join("k.bin");
        write_atomic(&p, b"first", true).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        }
        // A path whose parent is a file cannot be written: the error names it.
        let bad = p.join("child");
        let e = write_atomic(&bad, b"x", false).unwrap_err();
        assert!(e.to_string().contains("child"), "{e}");
        assert_eq!(std::fs::read(&p).unwrap(), b"first");
        assert_eq!(ReadContainer::peek_kind(&p), None);
        std::fs::remove_dir_all(d).unwrap();
    }
}
