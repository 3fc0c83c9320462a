//! The container format of every binary file: keys, bundles, encrypted matrices, checkpoints.
//!
//! Layout (little endian):
//!
//! | field | bytes |
//! |---|---|
//! | magic `HETALCLI` | 8 |
//! | format version [`VERSION`] | 2 |
//! | kind ([`FileKind`]) | 1 |
//! | parameter fingerprint ([`Binding::params`]) | 16 |
//! | key fingerprint ([`Binding::key`]) | 16 |
//! | job fingerprint ([`Binding::job`], zero outside a job) | 16 |
//! | metadata length, metadata (a JSON object) | 8 + n |
//! | part count, then per part its length and bytes | 8 + (8 + n) each |
//! | FNV-1a 64 of everything before | 8 |
//!
//! Parts are `ckks_scheme::serialize` blobs, which carry their own headers naming the
//! parameters, so a ciphertext loaded under other parameters is refused there as well.
//!
//! Reading is bounded: a file larger than its kind's limit ([`FileKind::max_bytes`]) is refused
//! before it is read, and every declared length is checked against the bytes that remain before
//! anything is allocated for it. The checksum catches truncation and flipped bits (it is not a
//! defence against a forger, who could fix it; the CKKS layer's checks stand behind it).
//!
//! **Older versions**: version 1 (no fingerprints) is refused with a message that says to make
//! the file again; a reader accepts exactly the version it writes, since a file that cannot say
//! which key it belongs to cannot be checked.

use super::atomic::write_atomic_with;
use super::fingerprint::{Binding, Fingerprint};
use super::FileError;
use std::io::Write;
use std::path::Path;

/// The magic bytes of every container file.
pub const MAGIC: [u8; 8] = *b"HETALCLI";
/// The container format version; loading refuses others. Version 2 added the parameter, key
/// and job fingerprints.
pub const VERSION: u16 = 2;
/// Bytes before the metadata length: magic, version, kind, three fingerprints.
const FIXED: usize = 8 + 2 + 1 + 3 * 16;
/// Most bytes of metadata (JSON); real files hold a few kilobytes.
const MAX_META: usize = 16 << 20;

/// What a container holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileKind {
    /// The client's secret key (parameters, secret key). Never sent to the server.
    SecretKey = 1,
    /// The server's public bundle (parameters, evaluation keys, bootstrapping keys).
    PublicBundle = 2,
    /// Named encrypted matrices (a batch, the validation set, weights, validation outputs).
    Matrices = 3,
    /// The server's training checkpoint (encrypted weights, momentum, best model, counters).
    Checkpoint = 4,
}

impl FileKind {
    fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(Self::SecretKey),
            2 => Some(Self::PublicBundle),
            3 => Some(Self::Matrices),
            4 => Some(Self::Checkpoint),
            _ => None,
        }
    }

    /// A name for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Self::SecretKey => "a secret key",
            Self::PublicBundle => "a public key bundle",
            Self::Matrices => "encrypted matrices",
            Self::Checkpoint => "a training checkpoint",
        }
    }

    /// The largest file of this kind that is read: a secret key at `N = 2^17` is tens of MB, a
    /// bundle at `bootstrap-n16` is 4-8 GB, a job's matrices and checkpoints are at most a few GB.
    pub fn max_bytes(self) -> u64 {
        match self {
            Self::SecretKey => 1 << 30,
            Self::PublicBundle => 64 << 30,
            Self::Matrices | Self::Checkpoint => 32 << 30,
        }
    }
}

/// FNV-1a, 64 bits, over several slices as if concatenated.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
    fn feed(&mut self, bytes: &[u8]) {
        self.0 = bytes.iter().fold(self.0, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    }
}

/// A container to write: its kind, binding, JSON metadata and binary parts.
#[derive(Clone, Debug)]
pub struct Container {
    /// What it holds.
    pub kind: FileKind,
    /// The key and job it belongs to.
    pub binding: Binding,
    /// Metadata (a JSON object).
    pub meta: serde_json::Value,
    /// The parts.
    pub parts: Vec<Vec<u8>>,
}

/// A part made while the container is written instead of held in [`Container::parts`]: `len`
/// bytes exactly, written by `write` (a key bundle's GBs of serialized keys need not exist
/// beside the keys). A write of another length fails the container's write.
pub struct StreamedPart<'a> {
    /// Its length, declared before it is written.
    pub len: u64,
    /// Writes it.
    pub write: &'a dyn Fn(&mut dyn Write) -> std::io::Result<()>,
}

/// Feeds what passes through to the checksum and counts it.
struct Summing<'w> {
    inner: &'w mut dyn Write,
    sum: Fnv,
    n: u64,
}

impl Write for Summing<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let k = self.inner.write(buf)?;
        self.sum.feed(&buf[..k]);
        self.n += k as u64;
        Ok(k)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl Container {
    /// Streams the container to `w` (checksum computed on the way); returns the bytes written.
    pub fn write_to(&self, w: &mut dyn Write) -> std::io::Result<u64> {
        self.write_to_with(w, &[])
    }

    /// [`Container::write_to`] with `streamed` parts placed among [`Container::parts`]: `(i,
    /// part)` becomes part `i` of the file (indexes ascending), the held parts fill the rest in
    /// order.
    pub fn write_to_with(&self, w: &mut dyn Write, streamed: &[(usize, StreamedPart<'_>)]) -> std::io::Result<u64> {
        let meta = serde_json::to_vec(&self.meta).map_err(std::io::Error::other)?;
        let mut out = Summing { inner: w, sum: Fnv::new(), n: 0 };
        out.write_all(&MAGIC)?;
        out.write_all(&VERSION.to_le_bytes())?;
        out.write_all(&[self.kind as u8])?;
        out.write_all(&self.binding.params.0)?;
        out.write_all(&self.binding.key.0)?;
        out.write_all(&self.binding.job.0)?;
        out.write_all(&(meta.len() as u64).to_le_bytes())?;
        out.write_all(&meta)?;
        let total = self.parts.len() + streamed.len();
        out.write_all(&(total as u64).to_le_bytes())?;
        let (mut held, mut next) = (self.parts.iter(), streamed.iter().peekable());
        for i in 0..total {
            match next.next_if(|(at, _)| *at == i) {
                Some((_, part)) => {
                    out.write_all(&part.len.to_le_bytes())?;
                    let start = out.n;
                    (part.write)(&mut out)?;
                    if out.n - start != part.len {
                        return Err(std::io::Error::other(format!(
                            "part {i} wrote {} bytes, {} declared",
                            out.n - start,
                            part.len
                        )));
                    }
                }
                None => {
                    let p = held.next().ok_or_else(|| {
                        std::io::Error::other(format!("no part for index {i}: streamed indexes out of order"))
                    })?;
                    out.write_all(&(p.len() as u64).to_le_bytes())?;
                    out.write_all(p)?;
                }
            }
        }
        let (sum, n) = (out.sum.0, out.n);
        w.write_all(&sum.to_le_bytes())?;
        Ok(n + 8)
    }

    /// The bytes of the container.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out).expect("writing to a Vec cannot fail");
        out
    }

    /// Writes the container atomically to `path` (mode 0600 if `private`); returns its size.
    pub fn write(&self, path: &Path, private: bool) -> Result<u64, FileError> {
        self.write_with(path, private, &[])
    }

    /// [`Container::write`] with streamed parts ([`Container::write_to_with`]). A failed
    /// write, a streamed part's wrong length included, leaves any old file in place.
    pub fn write_with(
        &self,
        path: &Path,
        private: bool,
        streamed: &[(usize, StreamedPart<'_>)],
    ) -> Result<u64, FileError> {
        let mut n = 0;
        write_atomic_with(path, private, |w| {
            n = self.write_to_with(w, streamed)?;
            Ok(())
        })?;
        Ok(n)
    }
}

/// A container read from a file: the file's bytes once, parts as ranges into them (a public
/// bundle at N = 2^16 is several GB: no second copy).
pub struct ReadContainer {
    /// What it holds.
    pub kind: FileKind,
    /// The key and job it says it belongs to.
    pub binding: Binding,
    /// Metadata (a JSON object).
    pub meta: serde_json::Map<String, serde_json::Value>,
    bytes: Vec<u8>,
    parts: Vec<std::ops::Range<usize>>,
}

impl std::fmt::Debug for ReadContainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The bytes can be gigabytes: show the metadata and the part sizes only.
        let sizes: Vec<usize> = self.parts.iter().map(|r| r.len()).collect();
        f.debug_struct("ReadContainer")
            .field("kind", &self.kind)
            .field("binding", &self.binding)
            .field("meta", &self.meta)
            .field("part_sizes", &sizes)
            .finish()
    }
}

/// A cursor that refuses to read past the end, naming the file.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl<'a> Reader<'a> {
    /// A declared length, refused if more bytes than remain.
    fn len(&mut self, what: &str) -> Result<usize, FileError> {
        let b = self.take(8)?;
        let v = u64::from_le_bytes(b.try_into().expect("8 bytes"));
        let left = self.bytes.len() - self.pos;
        usize::try_from(v)
            .ok()
            .filter(|&n| n <= left)
            .ok_or_else(|| FileError::format(self.path, format!("{what} declares {v} bytes, but only {left} remain")))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], FileError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| FileError::format(self.path, "truncated"))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }
}

fn fingerprint(b: &[u8]) -> Fingerprint {
    Fingerprint(b.try_into().expect("16 bytes"))
}

/// The kind byte of a header (`head[10]`), or an error naming it.
fn header_kind(path: &Path, head: &[u8]) -> Result<FileKind, FileError> {
    FileKind::from_byte(head[10]).ok_or_else(|| FileError::format(path, format!("unknown file kind {}", head[10])))
}

/// The three fingerprints of a header (`head[11..59]`).
fn header_binding(head: &[u8]) -> Binding {
    Binding { params: fingerprint(&head[11..27]), key: fingerprint(&head[27..43]), job: fingerprint(&head[43..59]) }
}

/// The metadata of a container: a JSON object.
fn parse_meta(path: &Path, bytes: &[u8]) -> Result<serde_json::Map<String, serde_json::Value>, FileError> {
    match serde_json::from_slice(bytes) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        Ok(_) => Err(FileError::format(path, "the metadata is not a JSON object")),
        Err(e) => Err(FileError::format(path, format!("corrupt metadata: {e}"))),
    }
}

/// What [`verify`] learns of a container without holding it in memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// What it holds.
    pub kind: FileKind,
    /// The key and job it says it belongs to.
    pub binding: Binding,
    /// Its size in bytes.
    pub size: u64,
    /// Its metadata (a JSON object of at most 16 MB).
    pub meta: serde_json::Map<String, serde_json::Value>,
}

/// Checks the file at `path` as a container in one streaming pass (a buffer of 1 MB, for files
/// of many GB such as an uploaded bundle): magic bytes, version, kind, its kind's size limit,
/// and the checksum over all of it; then its metadata is read again from the start. The
/// structure of the parts is checked when the file is read ([`ReadContainer::read`]).
pub fn verify(path: &Path) -> Result<Verified, FileError> {
    use std::io::{Read, Seek};
    let mut f = std::fs::File::open(path).map_err(|e| FileError::io(path, e))?;
    let size = f.metadata().map_err(|e| FileError::io(path, e))?.len();
    let mut head = [0u8; FIXED];
    if size < (FIXED + 8 + 8 + 8) as u64 {
        return Err(FileError::format(path, format!("truncated: {size} bytes")));
    }
    f.read_exact(&mut head).map_err(|e| FileError::io(path, e))?;
    if head[..8] != MAGIC {
        return Err(FileError::format(path, "not a hetal file (bad magic bytes)"));
    }
    let version = u16::from_le_bytes([head[8], head[9]]);
    if version != VERSION {
        return Err(version_error(path, version));
    }
    let kind = header_kind(path, &head)?;
    if size > kind.max_bytes() {
        return Err(FileError::TooLarge { path: path.into(), size, limit: kind.max_bytes(), kind: kind.describe() });
    }
    let mut sum = Fnv::new();
    sum.feed(&head);
    let mut left = size - FIXED as u64 - 8;
    let mut buf = vec![0u8; 1 << 20];
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        f.read_exact(&mut buf[..n]).map_err(|e| FileError::io(path, e))?;
        sum.feed(&buf[..n]);
        left -= n as u64;
    }
    let mut stored = [0u8; 8];
    f.read_exact(&mut stored).map_err(|e| FileError::io(path, e))?;
    if sum.0 != u64::from_le_bytes(stored) {
        return Err(FileError::format(path, "checksum mismatch: the file is truncated or corrupt"));
    }
    f.seek(std::io::SeekFrom::Start(FIXED as u64)).map_err(|e| FileError::io(path, e))?;
    let mut len = [0u8; 8];
    f.read_exact(&mut len).map_err(|e| FileError::io(path, e))?;
    let meta_len = u64::from_le_bytes(len);
    // Bounded before the buffer is made: by the format's limit and by what the file holds.
    if meta_len > MAX_META as u64 || meta_len > size - FIXED as u64 - 16 {
        return Err(FileError::format(path, format!("{meta_len} bytes of metadata (at most {MAX_META})")));
    }
    let mut meta = vec![0u8; meta_len as usize];
    f.read_exact(&mut meta).map_err(|e| FileError::io(path, e))?;
    Ok(Verified { kind, binding: header_binding(&head), size, meta: parse_meta(path, &meta)? })
}

impl ReadContainer {
    /// Parses `bytes` (read from `path`, named in errors); refuses other kinds than `expected`.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>, expected: FileKind) -> Result<Self, FileError> {
        if bytes.len() < 8 || bytes[..8] != MAGIC {
            return Err(FileError::format(path, "not a hetal file (bad magic bytes)"));
        }
        if bytes.len() < FIXED + 8 + 8 + 8 {
            let version = (bytes.len() >= 10).then(|| u16::from_le_bytes([bytes[8], bytes[9]]));
            if version.is_some_and(|v| v != VERSION) {
                return Err(version_error(path, version.unwrap_or(0)));
            }
            return Err(FileError::format(path, format!("truncated: {} bytes", bytes.len())));
        }
        let (body, sum) = bytes.split_at(bytes.len() - 8);
        let version = u16::from_le_bytes([body[8], body[9]]);
        if version != VERSION {
            return Err(version_error(path, version));
        }
        let mut h = Fnv::new();
        h.feed(body);
        if h.0 != u64::from_le_bytes(sum.try_into().expect("8 bytes")) {
            return Err(FileError::format(path, "checksum mismatch: the file is truncated or corrupt"));
        }
        let kind = header_kind(path, body)?;
        if kind != expected {
            return Err(FileError::Kind { path: path.into(), expected: expected.describe(), found: kind.describe() });
        }
        let binding = header_binding(body);
        let mut r = Reader { bytes: body, pos: FIXED, path };
        let meta_len = r.len("the metadata")?;
        if meta_len > MAX_META {
            return Err(FileError::format(path, format!("{meta_len} bytes of metadata (at most {MAX_META})")));
        }
        let meta = parse_meta(path, r.take(meta_len)?)?;
        let count = r.len("the part count")?;
        // Each part takes at least its 8-byte length: more parts than that cannot fit.
        if count > (body.len() - r.pos) / 8 {
            return Err(FileError::format(path, format!("{count} parts cannot fit in the file")));
        }
        let mut parts = Vec::with_capacity(count);
        for i in 0..count {
            let n = r.len(&format!("part {i}"))?;
            let start = r.pos;
            r.take(n)?;
            parts.push(start..start + n);
        }
        if r.pos != body.len() {
            return Err(FileError::format(path, "trailing bytes after the last part"));
        }
        Ok(Self { kind, binding, meta, bytes, parts })
    }

    /// Reads and parses the file at `path`, refusing a file larger than its kind's limit
    /// before reading it.
    pub fn read(path: &Path, expected: FileKind) -> Result<Self, FileError> {
        let size = std::fs::metadata(path).map_err(|e| FileError::io(path, e))?.len();
        if size > expected.max_bytes() {
            return Err(FileError::TooLarge {
                path: path.into(),
                size,
                limit: expected.max_bytes(),
                kind: expected.describe(),
            });
        }
        let bytes = std::fs::read(path).map_err(|e| FileError::io(path, e))?;
        Self::from_bytes(path, bytes, expected)
    }

    /// The kind of the file at `path`, if it is a container (for refusing secret keys).
    pub fn peek_kind(path: &Path) -> Option<FileKind> {
        let mut head = [0u8; 11];
        let mut f = std::fs::File::open(path).ok()?;
        std::io::Read::read_exact(&mut f, &mut head).ok()?;
        (head[..8] == MAGIC).then(|| FileKind::from_byte(head[10])).flatten()
    }

    /// All parts in order.
    pub fn parts(&self) -> impl Iterator<Item = &[u8]> {
        self.parts.iter().map(|r| &self.bytes[r.clone()])
    }

    /// The number of parts.
    pub fn part_count(&self) -> usize {
        self.parts.len()
    }

    /// The parts, refusing a file with another count than `names` (a bundle with a part
    /// appended, such as a secret key, is refused, not ignored).
    pub fn exact_parts(&self, path: &Path, names: &[&str]) -> Result<Vec<&[u8]>, FileError> {
        if self.parts.len() != names.len() {
            return Err(FileError::format(
                path,
                format!(
                    "{} parts, but {} has exactly {} ({})",
                    self.parts.len(),
                    self.kind.describe(),
                    names.len(),
                    names.join(", ")
                ),
            ));
        }
        Ok(self.parts().collect())
    }

    /// Refuses a file bound to other parameters, another key or another job than `expected`
    /// (a [`Fingerprint::NONE`] job in `expected` skips the job check).
    pub fn check_binding(&self, path: &Path, expected: &Binding) -> Result<(), FileError> {
        check_binding(path, &self.binding, expected)
    }

    /// A metadata field deserialized, or a format error naming it.
    pub fn meta_field<T: serde::de::DeserializeOwned>(&self, path: &Path, field: &str) -> Result<T, FileError> {
        meta_field(path, &self.meta, field)
    }
}

/// Refuses `found` unless it matches `expected` (a [`Fingerprint::NONE`] job in `expected` skips
/// the job check).
pub fn check_binding(path: &Path, found: &Binding, expected: &Binding) -> Result<(), FileError> {
    let mismatch = |what, expected, found| FileError::Mismatch { path: path.into(), what, expected, found };
    if found.params != expected.params {
        return Err(mismatch("parameters", expected.params, found.params));
    }
    if found.key != expected.key {
        return Err(mismatch("key", expected.key, found.key));
    }
    if !expected.job.is_none() && found.job != expected.job {
        return Err(mismatch("job", expected.job, found.job));
    }
    Ok(())
}

/// A field of a metadata object deserialized, or a format error naming it.
pub fn meta_field<T: serde::de::DeserializeOwned>(
    path: &Path,
    meta: &serde_json::Map<String, serde_json::Value>,
    field: &str,
) -> Result<T, FileError> {
    let v = meta.get(field).ok_or_else(|| FileError::format(path, format!("metadata lacks '{field}'")))?;
    serde_json::from_value(v.clone()).map_err(|e| FileError::format(path, format!("metadata '{field}': {e}")))
}

fn version_error(path: &Path, version: u16) -> FileError {
    FileError::format(
        path,
        format!(
            "file format version {version} is not supported (this hetal reads version {VERSION}); \
             make the file again with this hetal"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Container {
        Container {
            kind: FileKind::Matrices,
            binding: Binding { params: Fingerprint([5; 16]), key: Fingerprint([1; 16]), job: Fingerprint([2; 16]) },
            meta: serde_json::json!({ "a": 1 }),
            parts: vec![vec![1, 2, 3], vec![], vec![9; 100]],
        }
    }

    /// A part streamed at its index makes the same bytes as the part held; a streamed part of
    /// another length than declared, or indexes that leave a gap, fail the write.
    #[test]
    fn streamed_parts_write_the_same_bytes() {
        let c = sample();
        let middle = c.parts[1].clone();
        let held = Container { parts: vec![c.parts[0].clone(), c.parts[2].clone()], ..c.clone() };
        let write = |w: &mut dyn Write| w.write_all(&middle);
        let mut out = Vec::new();
        let n = held.write_to_with(&mut out, &[(1, StreamedPart { len: middle.len() as u64, write: &write })]).unwrap();
        assert_eq!((out, n), (c.to_bytes(), c.to_bytes().len() as u64));
        let short = StreamedPart { len: middle.len() as u64 + 1, write: &write };
        let err = held.write_to_with(&mut Vec::new(), &[(1, short)]).unwrap_err();
        assert!(err.to_string().contains("declared"), "{err}");
        let gap = StreamedPart { len: middle.len() as u64, write: &write };
        assert!(held.write_to_with(&mut Vec::new(), &[(5, gap)]).is_err());
    }

    /// The streaming check agrees with the reader: a good file passes with its kind, binding
    /// and size; every truncation and flipped byte fails.
    #[test]
    fn verify_streams_the_same_checks() {
        let dir = std::env::temp_dir().join(format!("hetal-verify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("x.hmat");
        let c = sample();
        let bytes = c.to_bytes();
        std::fs::write(&p, &bytes).unwrap();
        let v = verify(&p).unwrap();
        assert_eq!((v.kind, v.binding, v.size), (FileKind::Matrices, c.binding, bytes.len() as u64));
        assert_eq!(serde_json::Value::Object(v.meta), c.meta);
        for cut in [0, 11, 60, bytes.len() - 1] {
            std::fs::write(&p, &bytes[..cut]).unwrap();
            assert!(verify(&p).is_err(), "cut at {cut}");
        }
        for i in (0..bytes.len()).step_by(5) {
            let mut b = bytes.clone();
            b[i] ^= 0x08;
            std::fs::write(&p, &b).unwrap();
            assert!(verify(&p).is_err(), "flip at {i}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn round_trip_and_corruption() {
        let c = sample();
        let bytes = c.to_bytes();
        let p = Path::new("x.hmat");
        let back = ReadContainer::from_bytes(p, bytes.clone(), FileKind::Matrices).unwrap();
        assert_eq!(back.parts().map(<[u8]>::to_vec).collect::<Vec<_>>(), c.parts);
        assert_eq!(back.binding, c.binding);
        assert_eq!(serde_json::Value::Object(back.meta.clone()), c.meta);
        // Every truncation and every flipped byte is refused with a message naming the file.
        for cut in [0, 5, 11, 20, 50, bytes.len() - 1] {
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
    fn bindings_and_part_counts_are_checked() {
        let c = sample();
        let p = Path::new("x.hmat");
        let back = ReadContainer::from_bytes(p, c.to_bytes(), FileKind::Matrices).unwrap();
        back.check_binding(p, &c.binding).unwrap();
        back.check_binding(p, &Binding::key(c.binding.params, c.binding.key)).unwrap();
        let e = back.check_binding(p, &Binding::key(c.binding.params, Fingerprint([3; 16]))).unwrap_err();
        assert!(matches!(e, FileError::Mismatch { what: "key", .. }), "{e}");
        let e = back.check_binding(p, &Binding { job: Fingerprint([4; 16]), ..c.binding }).unwrap_err();
        assert!(e.to_string().contains("job 04040404"), "{e}");
        let e = back.check_binding(p, &Binding { params: Fingerprint([6; 16]), ..c.binding }).unwrap_err();
        assert!(matches!(e, FileError::Mismatch { what: "parameters", .. }), "{e}");
        let e = back.check_binding(p, &Binding { job: Fingerprint([4; 16]), ..c.binding }).unwrap_err();
        assert!(e.to_string().contains("job 04040404"), "{e}");
        assert_eq!(back.exact_parts(p, &["a", "b", "c"]).unwrap().len(), 3);
        let e = back.exact_parts(p, &["a", "b"]).unwrap_err();
        assert!(e.to_string().contains("3 parts"), "{e}");
    }

    #[test]
    fn version_one_is_refused_with_advice() {
        let mut bytes = sample().to_bytes();
        bytes[8] = 1;
        let e = ReadContainer::from_bytes(Path::new("old.hkey"), bytes, FileKind::Matrices).unwrap_err();
        assert!(e.to_string().contains("version 1 is not supported"), "{e}");
    }

    #[test]
    fn declared_lengths_larger_than_the_file_are_refused() {
        // A valid checksum over a header that declares 2^60 parts.
        let mut body = MAGIC.to_vec();
        body.extend_from_slice(&VERSION.to_le_bytes());
        body.push(FileKind::Matrices as u8);
        body.extend_from_slice(&[0; 48]);
        body.extend_from_slice(&2u64.to_le_bytes());
        body.extend_from_slice(b"{}");
        body.extend_from_slice(&(1u64 << 60).to_le_bytes());
        let mut h = Fnv::new();
        h.feed(&body);
        body.extend_from_slice(&h.0.to_le_bytes());
        let e = ReadContainer::from_bytes(Path::new("bomb"), body, FileKind::Matrices).unwrap_err();
        assert!(e.to_string().contains("declares 1152921504606846976 bytes"), "{e}");
    }

    #[test]
    fn files_over_the_kind_limit_are_refused_unread() {
        let d = std::env::temp_dir().join(format!("hetal-container-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let p = d.join("huge.hkey");
        let f = std::fs::File::create(&p).unwrap();
        f.set_len(FileKind::SecretKey.max_bytes() + 1).unwrap(); // sparse: no disk used
        let e = ReadContainer::read(&p, FileKind::SecretKey).unwrap_err();
        assert!(matches!(e, FileError::TooLarge { .. }), "{e}");
        std::fs::remove_dir_all(d).unwrap();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Any bytes at all: an error or a container, never a panic or a huge allocation.
        #[test]
        fn arbitrary_bytes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..200), fix in any::<bool>()) {
            if fix && bytes.len() >= 8 + FIXED {
                bytes[..8].copy_from_slice(&MAGIC);
                bytes[8..10].copy_from_slice(&VERSION.to_le_bytes());
                let n = bytes.len() - 8;
                let mut h = Fnv::new();
                h.feed(&bytes[..n]);
                bytes[n..].copy_from_slice(&h.0.to_le_bytes());
            }
            let _ = ReadContainer::from_bytes(Path::new("p"), bytes, FileKind::Matrices);
        }
    }
}
