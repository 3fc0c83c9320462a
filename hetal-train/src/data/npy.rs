//! Reading the `.npy` arrays of a data set: 2-D float features and 1-D integer labels, checked
//! for dtype, shape, size and finiteness.
//!
//! The header is read and parsed here, bounded before anything is allocated: the file is at
//! most [`MAX_NPY_BYTES`], the header at most [`MAX_NPY_HEADER_BYTES`] and within the file,
//! and the shape times the element size must be exactly the bytes after the header (checked
//! arithmetic). Only then does `npyz` decode the elements. (`npyz`'s own header parser
//! multiplies the shape out unchecked: a hostile shape panics there with overflow checks on.)
//! Files and embedded bytes take the same path, so they get the same checks.

use super::error::element_count;
use super::limits::{within, MAX_NPY_BYTES, MAX_NPY_HEADER_BYTES};
use super::DataError;
use crate::matrix::Matrix;
use npyz::{DType, Deserialize, TypeRead, TypeStr};
use std::io::Read;
use std::path::Path;

fn npy_error(path: &Path, reason: impl Into<String>) -> DataError {
    DataError::Npy { path: path.into(), reason: reason.into() }
}

/// A read error: the end of the data (a file that shrank after its size was taken) is a
/// truncated `.npy` file, anything else the operating system's.
fn read_error(path: &Path, e: std::io::Error) -> DataError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        npy_error(path, "truncated: the file ended while it was read")
    } else {
        DataError::Io { path: path.into(), source: e }
    }
}

/// A `.npy` array whose header was read and checked, with `reader` at the first data byte.
struct Array<'p, R> {
    /// Names the array in errors.
    path: &'p Path,
    /// The dtype's type string, for example `<f4`.
    descr: String,
    fortran_order: bool,
    shape: Vec<u64>,
    /// Bytes after the header.
    data_bytes: u64,
    reader: R,
}

impl<'p> Array<'p, std::io::BufReader<std::fs::File>> {
    fn open(path: &'p Path) -> Result<Self, DataError> {
        let io = |source| DataError::Io { path: path.into(), source };
        let file = std::fs::File::open(path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        Array::read(path, std::io::BufReader::new(file), size)
    }
}

impl<'p, 'b> Array<'p, &'b [u8]> {
    fn from_bytes(path: &'p Path, bytes: &'b [u8]) -> Result<Self, DataError> {
        Array::read(path, bytes, bytes.len() as u64)
    }
}

impl<'p, R: Read> Array<'p, R> {
    /// Reads the prefix (magic string, version, header length) and the header of a `.npy` file
    /// of `size` bytes from `reader`. Nothing is read or allocated beyond what the checks allow.
    fn read(path: &'p Path, mut reader: R, size: u64) -> Result<Self, DataError> {
        within(path, "file size in bytes", size, MAX_NPY_BYTES)?;
        let short = |need: usize| npy_error(path, format!("{size} bytes, too short for a {need}-byte .npy prefix"));
        let mut prefix = [0u8; 12];
        if size < 10 {
            return Err(short(10));
        }
        reader.read_exact(&mut prefix[..8]).map_err(|e| read_error(path, e))?;
        if &prefix[..6] != b"\x93NUMPY" {
            return Err(npy_error(path, "no .npy magic string (\\x93NUMPY) at the start"));
        }
        let len_bytes = match (prefix[6], prefix[7]) {
            (1, 0) => 2,
            (2, 0) | (3, 0) => 4,
            (major, minor) => {
                return Err(npy_error(path, format!("format version {major}.{minor}; 1.0, 2.0 and 3.0 are read")))
            }
        };
        let prefix_len = 8 + len_bytes;
        if size < prefix_len as u64 {
            return Err(short(prefix_len));
        }
        reader.read_exact(&mut prefix[8..prefix_len]).map_err(|e| read_error(path, e))?;
        let header_len = match len_bytes {
            2 => u64::from(u16::from_le_bytes([prefix[8], prefix[9]])),
            _ => u64::from(u32::from_le_bytes([prefix[8], prefix[9], prefix[10], prefix[11]])),
        };
        within(path, "header length in bytes", header_len, MAX_NPY_HEADER_BYTES)?;
        let data_bytes = (size - prefix_len as u64).checked_sub(header_len).ok_or_else(|| {
            npy_error(path, format!("truncated: a {header_len}-byte header does not fit in the {size}-byte file"))
        })?;
        let mut header = vec![0u8; header_len as usize];
        reader.read_exact(&mut header).map_err(|e| read_error(path, e))?;
        let Header { descr, fortran_order, shape } =
            Header::parse(&header).map_err(|r| npy_error(path, r.to_string()))?;
        Ok(Array { path, descr, fortran_order, shape, data_bytes, reader })
    }

    /// The dtype if its kind and size (for example `f4`) are among `accepted`, returned with
    /// them; otherwise [`DataError::Dtype`] naming `expected`.
    fn dtype(&self, accepted: &[&'static str], expected: &'static str) -> Result<(&'static str, TypeStr), DataError> {
        let body = self.descr.strip_prefix(['<', '>', '|', '=']).unwrap_or(&self.descr);
        accepted
            .iter()
            .find(|&&a| a == body)
            .and_then(|&a| Some((a, self.descr.parse::<TypeStr>().ok()?)))
            .ok_or_else(|| DataError::Dtype { path: self.path.into(), expected, found: self.descr.clone() })
    }

    /// Refuses Fortran order where it changes the layout (more than one dimension above 1).
    fn check_c_order(&self) -> Result<(), DataError> {
        if self.fortran_order && self.shape.iter().filter(|&&d| d > 1).count() > 1 {
            return Err(npy_error(self.path, "Fortran-ordered arrays are not supported"));
        }
        Ok(())
    }

    /// The elements, decoded by `npyz` as `T` (whose type string is `ts`) and converted by
    /// `convert`, once the shape times the element size is checked to be exactly the data
    /// length: a shape claiming more elements than the file holds allocates nothing.
    fn values<T: Deserialize, U>(mut self, ts: &TypeStr, convert: impl Fn(T) -> U) -> Result<Vec<U>, DataError> {
        let item_bytes = ts.size_field();
        let n = element_count(&self.shape)
            .filter(|n| n.checked_mul(item_bytes) == Some(self.data_bytes))
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| DataError::DataLength {
                path: self.path.into(),
                shape: self.shape.clone(),
                item_bytes,
                data_bytes: self.data_bytes,
            })?;
        let element = T::reader(&DType::Plain(ts.clone())).map_err(|e| npy_error(self.path, e.to_string()))?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(convert(element.read_one(&mut self.reader).map_err(|e| read_error(self.path, e))?));
        }
        Ok(out)
    }
}

/// What a `.npy` header says, parsed from the strict subset of Python dict literals that NumPy
/// writes for plain arrays: `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`
/// (quoted keys and strings without escapes, `True`/`False`, a tuple of decimal integers, these
/// three keys exactly once each). Anything else is refused with the byte offset.
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<u64>,
}

/// A value of a header dict.
enum Value {
    Str(String),
    Bool(bool),
    Tuple(Vec<u64>),
}

/// Why a `.npy` header does not parse (the `reason` of [`DataError::Npy`]).
#[derive(Debug, thiserror::Error)]
enum HeaderError {
    /// Something unexpected at a byte offset of the header.
    #[error("header byte {at}: {what}")]
    At { at: usize, what: String },
    /// One of the three keys is missing.
    #[error("header has no '{key}'")]
    Missing { key: &'static str },
}

/// A cursor over the header bytes.
struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Header {
    fn parse(text: &[u8]) -> Result<Self, HeaderError> {
        let mut p = Parser { s: text, i: 0 };
        let (mut descr, mut fortran_order, mut shape) = (None, None, None);
        p.expect(b'{')?;
        while !p.eat(b'}') {
            let at = p.i;
            let key = p.string()?;
            if !matches!(key.as_str(), "descr" | "fortran_order" | "shape") {
                return Err(p.error_at(at, &format!("unexpected key '{key}'")));
            }
            p.expect(b':')?;
            let twice = match (key.as_str(), p.value()?) {
                ("descr", Value::Str(v)) => descr.replace(v).is_some(),
                ("fortran_order", Value::Bool(v)) => fortran_order.replace(v).is_some(),
                ("shape", Value::Tuple(v)) => shape.replace(v).is_some(),
                _ => return Err(p.error_at(at, &format!("'{key}' has a value of another type (or a record dtype)"))),
            };
            if twice {
                return Err(p.error_at(at, &format!("key '{key}' appears twice")));
            }
            if !p.eat(b',') {
                p.expect(b'}')?;
                break;
            }
        }
        p.skip_space();
        if p.i != p.s.len() {
            return Err(p.error("text after the closing '}'"));
        }
        let missing = |key: &'static str| HeaderError::Missing { key };
        Ok(Header {
            descr: descr.ok_or_else(|| missing("descr"))?,
            fortran_order: fortran_order.ok_or_else(|| missing("fortran_order"))?,
            shape: shape.ok_or_else(|| missing("shape"))?,
        })
    }
}

impl Parser<'_> {
    fn error_at(&self, at: usize, what: &str) -> HeaderError {
        HeaderError::At { at, what: what.to_owned() }
    }

    fn error(&self, what: &str) -> HeaderError {
        self.error_at(self.i, what)
    }

    fn skip_space(&mut self) {
        while self.s.get(self.i).is_some_and(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }

    /// Skips spaces and then `c` if it is next.
    fn eat(&mut self, c: u8) -> bool {
        self.skip_space();
        let found = self.s.get(self.i) == Some(&c);
        self.i += usize::from(found);
        found
    }

    fn expect(&mut self, c: u8) -> Result<(), HeaderError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.error(&format!("expected '{}'", c as char)))
        }
    }

    /// A quoted string of printable ASCII without backslashes.
    fn string(&mut self) -> Result<String, HeaderError> {
        self.skip_space();
        let quote = match self.s.get(self.i) {
            Some(&q @ (b'\'' | b'"')) => q,
            _ => return Err(self.error("expected a quoted string")),
        };
        let start = self.i + 1;
        let len = self.s[start..].iter().position(|&c| c == quote).ok_or_else(|| self.error("unterminated string"))?;
        let body = &self.s[start..start + len];
        if let Some(k) = body.iter().position(|&c| !(b' '..=b'~').contains(&c) || c == b'\\') {
            return Err(self.error_at(start + k, "only printable ASCII without escapes is read in strings"));
        }
        self.i = start + len + 1;
        Ok(body.iter().map(|&c| char::from(c)).collect())
    }

    fn value(&mut self) -> Result<Value, HeaderError> {
        self.skip_space();
        let rest = &self.s[self.i..];
        if rest.starts_with(b"True") || rest.starts_with(b"False") {
            let v = rest[0] == b'T';
            self.i += if v { 4 } else { 5 };
            return Ok(Value::Bool(v));
        }
        match rest.first() {
            Some(b'\'' | b'"') => Ok(Value::Str(self.string()?)),
            Some(b'(') => Ok(Value::Tuple(self.tuple()?)),
            _ => Err(self.error("expected a string, True, False or a tuple")),
        }
    }

    /// `(d0, d1, ...)`, a trailing comma allowed: each a decimal integer that fits in `u64`.
    fn tuple(&mut self) -> Result<Vec<u64>, HeaderError> {
        self.expect(b'(')?;
        let mut dims = Vec::new();
        while !self.eat(b')') {
            let start = self.i;
            let len = self.s[start..].iter().take_while(|c| c.is_ascii_digit()).count();
            if len == 0 {
                return Err(self.error("expected a dimension (a decimal integer)"));
            }
            let digits = std::str::from_utf8(&self.s[start..start + len]).map_err(|_| self.error("not ASCII"))?;
            dims.push(digits.parse().map_err(|_| self.error(&format!("dimension {digits} does not fit in 64 bits")))?);
            self.i += len;
            if !self.eat(b',') {
                self.expect(b')')?;
                break;
            }
        }
        Ok(dims)
    }
}

/// Reads a 2-D `float32` or `float64` array (rows = samples) into a [`Matrix`]. Errors name the
/// file: a wrong dtype, a shape that is not 2-D or has no columns ([`DataError::Shape`]) or no
/// rows ([`DataError::Empty`]), a NaN or infinite value (with its position), and the size checks
/// of this module (so that rows and columns are both bounded by the file's size).
pub fn read_features(path: &Path) -> Result<Matrix, DataError> {
    features_from(Array::open(path)?)
}

/// [`read_features`] on the bytes of a `.npy` file held in memory (a copy embedded in a
/// binary), with the same checks; `path` only names the array in errors.
pub fn features_from_bytes(path: &Path, bytes: &[u8]) -> Result<Matrix, DataError> {
    features_from(Array::from_bytes(path, bytes)?)
}

fn features_from<R: Read>(npy: Array<'_, R>) -> Result<Matrix, DataError> {
    let path = npy.path;
    npy.check_c_order()?;
    let (rows, cols) = match npy.shape[..] {
        [0, cols] => {
            let reason = format!("no samples (shape (0, {cols}))");
            return Err(DataError::Empty { path: path.into(), reason });
        }
        [rows, cols] if cols > 0 => (rows, cols),
        _ => {
            let expected = "2-D (samples, features), at least one feature".into();
            return Err(DataError::Shape { path: path.into(), expected, found: npy.shape });
        }
    };
    let data: Vec<f64> = match npy.dtype(&["f4", "f8"], "float32 or float64")? {
        ("f4", ts) => npy.values::<f32, _>(&ts, f64::from)?,
        (_, ts) => npy.values::<f64, _>(&ts, std::convert::identity)?,
    };
    // The data length matched rows * cols * item size with both at least 1: both fit in usize.
    let (rows, cols) = (rows as usize, cols as usize);
    if let Some(k) = data.iter().position(|v| !v.is_finite()) {
        return Err(DataError::NonFinite { path: path.into(), row: k / cols, col: k % cols, value: data[k] });
    }
    Matrix::from_vec(rows, cols, data).ok_or_else(|| npy_error(path, "element count does not match the shape"))
}

/// Reads a 1-D `int64` or `int32` label array. Range checks are the caller's (they need the
/// class count): see [`check_labels`].
pub fn read_labels(path: &Path) -> Result<Vec<i64>, DataError> {
    labels_from(Array::open(path)?)
}

/// [`read_labels`] on the bytes of a `.npy` file held in memory, with the same checks; `path`
/// only names the array in errors.
pub fn labels_from_bytes(path: &Path, bytes: &[u8]) -> Result<Vec<i64>, DataError> {
    labels_from(Array::from_bytes(path, bytes)?)
}

fn labels_from<R: Read>(npy: Array<'_, R>) -> Result<Vec<i64>, DataError> {
    if npy.shape.len() != 1 {
        return Err(DataError::Shape { path: npy.path.into(), expected: "1-D (samples)".into(), found: npy.shape });
    }
    match npy.dtype(&["i8", "i4"], "int64 or int32")? {
        ("i8", ts) => npy.values::<i64, _>(&ts, std::convert::identity),
        (_, ts) => npy.values::<i32, _>(&ts, i64::from),
    }
}

/// Labels as class indices, each in `0..classes`; the first one outside names its row.
pub fn check_labels(path: &Path, labels: &[i64], classes: usize) -> Result<Vec<usize>, DataError> {
    labels
        .iter()
        .enumerate()
        .map(|(row, &label)| {
            usize::try_from(label).ok().filter(|&l| l < classes).ok_or(DataError::LabelOutOfRange {
                path: path.into(),
                row,
                label,
                classes,
            })
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::path::PathBuf;

    /// The bytes of a `.npy` file of format `version` (1, 2 or 3) with this header text and data.
    pub(crate) fn npy_bytes(version: u8, header: &str, data: &[u8]) -> Vec<u8> {
        let mut out = vec![0x93, b'N', b'U', b'M', b'P', b'Y', version, 0];
        match version {
            1 => out.extend_from_slice(&(header.len() as u16).to_le_bytes()),
            _ => out.extend_from_slice(&(header.len() as u32).to_le_bytes()),
        }
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    /// A NumPy-style header (padded with spaces and a newline to a multiple of 64 bytes).
    fn header(descr: &str, shape: &str) -> String {
        let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        header
    }

    /// Writes a `.npy` file with the given dtype descriptor, shape and raw little-endian bytes.
    pub(crate) fn write_npy(dir: &Path, name: &str, descr: &str, shape: &[usize], bytes: &[u8]) -> PathBuf {
        let shape_txt = match shape {
            [n] => format!("({n},)"),
            s => format!("({})", s.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
        };
        let path = dir.join(name);
        std::fs::write(&path, npy_bytes(1, &header(descr, &shape_txt), bytes)).unwrap();
        path
    }

    pub(crate) fn f32_bytes(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    pub(crate) fn i64_bytes(v: &[i64]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    pub(crate) fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("hetal-train-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn reads_features_and_labels() {
        let dir = temp_dir("npy-ok");
        let x = write_npy(&dir, "x.npy", "<f4", &[2, 3], &f32_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]));
        let m = read_features(&x).unwrap();
        assert_eq!((m.rows, m.cols), (2, 3));
        assert_eq!(m.row(1), &[4.0, 5.0, 6.0]);
        let y = write_npy(&dir, "y.npy", "<i8", &[2], &i64_bytes(&[0, 2]));
        assert_eq!(read_labels(&y).unwrap(), vec![0, 2]);
    }

    #[test]
    fn reads_other_versions_dtypes_and_byte_orders() {
        let name = Path::new("v.npy");
        let f8: Vec<u8> = [1.5f64, -2.0].iter().flat_map(|x| x.to_be_bytes()).collect();
        let m = features_from_bytes(name, &npy_bytes(2, &header(">f8", "(1, 2)"), &f8)).unwrap();
        assert_eq!(m.data, vec![1.5, -2.0]);
        let i4: Vec<u8> = [3i32, 0].iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(labels_from_bytes(name, &npy_bytes(3, &header("<i4", "(2,)"), &i4)).unwrap(), vec![3, 0]);
        // A double-quoted, unpadded header with the keys in another order.
        let h = "{\"shape\": (1,), \"fortran_order\": True, \"descr\": \"<i8\"}";
        assert_eq!(labels_from_bytes(name, &npy_bytes(1, h, &i64_bytes(&[7]))).unwrap(), vec![7]);
    }

    #[test]
    fn reads_from_bytes_like_from_files() {
        let dir = temp_dir("npy-bytes");
        let x = write_npy(&dir, "x.npy", "<f4", &[2, 2], &f32_bytes(&[1.0, 2.0, 3.0, 4.0]));
        let y = write_npy(&dir, "y.npy", "<i8", &[2], &i64_bytes(&[1, 0]));
        let (xb, yb) = (std::fs::read(&x).unwrap(), std::fs::read(&y).unwrap());
        assert_eq!(features_from_bytes(&x, &xb).unwrap(), read_features(&x).unwrap());
        assert_eq!(labels_from_bytes(&y, &yb).unwrap(), vec![1, 0]);
        let name = Path::new("embedded/x.npy");
        assert!(matches!(features_from_bytes(name, &yb), Err(DataError::Shape { .. })));
        assert!(matches!(labels_from_bytes(name, b"junk"), Err(DataError::Npy { .. })));
    }

    #[test]
    fn typed_errors_name_the_problem() {
        let dir = temp_dir("npy-bad");
        let x = write_npy(&dir, "x1.npy", "<f4", &[3], &f32_bytes(&[1.0, 2.0, 3.0]));
        assert!(matches!(read_features(&x), Err(DataError::Shape { .. })));
        let x = write_npy(&dir, "x2.npy", "<i8", &[1, 1], &i64_bytes(&[1]));
        let err = read_features(&x).unwrap_err();
        assert!(matches!(err, DataError::Dtype { .. }), "{err}");
        assert!(err.to_string().contains("x2.npy"));
        let x = write_npy(&dir, "x3.npy", "<f4", &[2, 2], &f32_bytes(&[1.0, 2.0, f32::NAN, 0.0]));
        assert!(matches!(read_features(&x), Err(DataError::NonFinite { row: 1, col: 0, .. })));
        let y = write_npy(&dir, "y.npy", "<i8", &[3], &i64_bytes(&[0, 5, -1]));
        let labels = read_labels(&y).unwrap();
        assert!(matches!(check_labels(&y, &labels, 3), Err(DataError::LabelOutOfRange { row: 1, label: 5, .. })));
        assert!(matches!(read_features(&dir.join("missing.npy")), Err(DataError::Io { .. })));
        std::fs::write(dir.join("junk.npy"), b"not numpy").unwrap();
        assert!(matches!(read_features(&dir.join("junk.npy")), Err(DataError::Npy { .. })));
        // No feature columns, or no rows: refused (a (2^60, 0) or (0, 2^64 - 1) array holds no
        // data, but claims a dimension nothing could be allocated for).
        let x = write_npy(&dir, "x4.npy", "<f4", &[1 << 60, 0], &[]);
        assert!(matches!(read_features(&x), Err(DataError::Shape { .. })));
        let x = write_npy(&dir, "x5.npy", "<f4", &[0, usize::MAX], &[]);
        assert!(matches!(read_features(&x), Err(DataError::Empty { .. })));
    }

    /// The reviewer's bomb: 14 bytes, format 2.0, header length 0xFFFFFFF0. Refused from the
    /// prefix, before the header is allocated or read.
    #[test]
    fn header_length_bomb_is_refused_unread() {
        let mut bomb = b"\x93NUMPY\x02\x00".to_vec();
        bomb.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
        bomb.extend_from_slice(b"{}");
        assert_eq!(bomb.len(), 14);
        let name = Path::new("bomb.npy");
        let err = features_from_bytes(name, &bomb).unwrap_err();
        assert!(matches!(err, DataError::TooLarge { size: 0xFFFF_FFF0, limit: MAX_NPY_HEADER_BYTES, .. }), "{err}");
        assert!(err.to_string().contains("bomb.npy") && err.to_string().contains("4294967280"), "{err}");
        assert!(matches!(labels_from_bytes(name, &bomb), Err(DataError::TooLarge { .. })));
        let dir = temp_dir("npy-bomb");
        std::fs::write(dir.join("bomb.npy"), &bomb).unwrap();
        assert!(matches!(read_features(&dir.join("bomb.npy")), Err(DataError::TooLarge { .. })));
        // Within the limit but longer than the file: truncated, also refused unread.
        let mut short = b"\x93NUMPY\x01\x00".to_vec();
        short.extend_from_slice(&1000u16.to_le_bytes());
        short.extend_from_slice(b"{}");
        let err = features_from_bytes(name, &short).unwrap_err();
        assert!(matches!(err, DataError::Npy { .. }) && err.to_string().contains("1000-byte header"), "{err}");
    }

    /// Shapes claiming more elements than the bytes hold (the reviewer's 384-byte file that
    /// allocated 662 MB), shapes whose product overflows, truncated data and trailing bytes.
    #[test]
    fn shape_must_match_the_data_exactly() {
        let name = Path::new("shape.npy");
        let data = f32_bytes(&[1.0; 64]);
        let claims = |shape: &str| features_from_bytes(name, &npy_bytes(1, &header("<f4", shape), &data));
        let err = claims("(10000000, 1000)").unwrap_err();
        assert!(
            matches!(err, DataError::DataLength { item_bytes: 4, data_bytes: 256, ref shape, .. }
                if shape == &[10_000_000, 1000]),
            "{err}"
        );
        assert!(err.to_string().contains("40000000000 bytes of data, the file has 256"), "{err}");
        let err = claims("(18446744073709551615, 18446744073709551615)").unwrap_err();
        assert!(matches!(err, DataError::DataLength { .. }) && err.to_string().contains("more than 2^64"), "{err}");
        // 2^62 x 4 elements of 4 bytes: the byte count overflows although the element count does not.
        assert!(matches!(claims("(4611686018427387904, 4)"), Err(DataError::DataLength { .. })));
        assert!(matches!(claims("(1, 65)"), Err(DataError::DataLength { .. })));
        assert!(matches!(claims("(8, 8)"), Ok(m) if m.rows == 8));
        let labels = labels_from_bytes(name, &npy_bytes(1, &header("<i8", "(1000000000,)"), &i64_bytes(&[1])));
        assert!(matches!(labels, Err(DataError::DataLength { data_bytes: 8, .. })));
        // Truncated (3 bytes short) and trailing bytes.
        let good = npy_bytes(1, &header("<f4", "(2, 2)"), &f32_bytes(&[1.0, 2.0, 3.0, 4.0]));
        let err = features_from_bytes(name, &good[..good.len() - 3]).unwrap_err();
        assert!(matches!(err, DataError::DataLength { data_bytes: 13, .. }), "{err}");
        let mut long = good.clone();
        long.push(0);
        assert!(matches!(features_from_bytes(name, &long), Err(DataError::DataLength { data_bytes: 17, .. })));
        for cut in 0..good.len() {
            assert!(features_from_bytes(name, &good[..cut]).is_err(), "{cut} bytes");
        }
        assert_eq!(element_count(&[0, u64::MAX, u64::MAX]), Some(0));
        assert_eq!(element_count(&[1 << 32, 1 << 32]), None);
    }

    #[test]
    fn headers_outside_the_plain_subset_are_refused() {
        let name = Path::new("h.npy");
        let data = i64_bytes(&[1]);
        for (header, what) in [
            ("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), 'shape': (2,)}", "appears twice"),
            ("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), 'x': 1}", "unexpected key"),
            ("{'descr': '<i8', 'fortran_order': False}", "no 'shape'"),
            ("{'descr': [('a', '<i8')], 'fortran_order': False, 'shape': (1,)}", "byte 10"),
            ("{'descr': '<i8', 'fortran_order': 0, 'shape': (1,)}", "expected a string"),
            ("{'descr': '<i8', 'fortran_order': False, 'shape': (1,)} x", "after the closing"),
            ("{'descr': '<i8', 'fortran_order': False, 'shape': (18446744073709551616,)}", "64 bits"),
            ("{'descr': '<\\x69\\x38', 'fortran_order': False, 'shape': (1,)}", "escapes"),
            ("{'descr': '<i8', 'fortran_order': False, 'shape': ((((1,),),),)}", "dimension"),
            ("{'descr': '<i8', 'fortran_order': False, 'shape': (1,", "expected"),
            ("{'descr' '<i8'}", "expected ':'"),
        ] {
            let err = labels_from_bytes(name, &npy_bytes(1, header, &data)).unwrap_err();
            assert!(matches!(err, DataError::Npy { .. }) && err.to_string().contains(what), "{header}: {err}");
        }
        let bad_version = npy_bytes(4, &header("<i8", "(1,)"), &data);
        assert!(labels_from_bytes(name, &bad_version).unwrap_err().to_string().contains("version 4.0"));
        let fortran = "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2)}";
        let err = features_from_bytes(name, &npy_bytes(1, fortran, &f32_bytes(&[0.0; 4]))).unwrap_err();
        assert!(err.to_string().contains("Fortran"), "{err}");
        let err = labels_from_bytes(name, &npy_bytes(1, &header("<U99999999999", "(1,)"), &data)).unwrap_err();
        assert!(matches!(err, DataError::Dtype { .. }), "{err}");
    }

    proptest! {
        /// Any shape with any amount of data: the features are read exactly when the shape
        /// matches the data, and refused with a typed error (never a panic) otherwise.
        #[test]
        fn any_claimed_shape_is_checked(rows in any::<u64>(), cols in any::<u64>(), n in 0usize..64, v3 in any::<bool>()) {
            let name = Path::new("p.npy");
            let bytes = npy_bytes(if v3 { 3 } else { 1 }, &header("<f4", &format!("({rows}, {cols})")), &f32_bytes(&vec![0.5; n]));
            match features_from_bytes(name, &bytes) {
                Ok(m) => prop_assert!(m.rows as u64 == rows && m.cols as u64 == cols && m.data.len() == n),
                Err(DataError::DataLength { .. }) => prop_assert!(rows.checked_mul(cols) != Some(n as u64)),
                Err(DataError::Shape { .. }) => prop_assert_eq!(cols, 0),
                Err(DataError::Empty { .. }) => prop_assert_eq!(rows, 0),
                Err(e) => prop_assert!(false, "{}", e),
            }
        }

        /// Random bytes after a valid prefix, and random corruptions of a valid file: an error
        /// or a value, never a panic.
        #[test]
        fn random_bytes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..200), flips in proptest::collection::vec((0usize..200, any::<u8>()), 0..8)) {
            let name = Path::new("r.npy");
            let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
            bytes.extend_from_slice(&tail);
            let _ = features_from_bytes(name, &bytes);
            let _ = labels_from_bytes(name, &bytes);
            let mut good = npy_bytes(1, &header("<i8", "(2,)"), &i64_bytes(&[4, 5]));
            for (at, byte) in flips {
                let k = at % good.len();
                good[k] = byte;
            }
            let _ = labels_from_bytes(name, &good);
            let _ = features_from_bytes(name, &good);
        }
    }
}
