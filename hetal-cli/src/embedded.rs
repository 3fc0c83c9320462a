//! The data set embedded in the binary: handwritten digits 0-3 (8x8 pixels; the 55 pixels not always 0), a
//! real subset of `shared/datasets/digits8x8_raw` built by `hetal-cli/data/make_embedded.py`
//! (source, licence and subset rule in `hetal-cli/data/digits/README.md`). `hetal demo` runs
//! on it without any file, and [`write_to`] puts the folder on disk for the file workflow.

// `demo` and `encrypt`, the callers, are written on another branch: until they are merged,
// nothing in the binary calls these items (only the tests do).

use hetal_train::data::{load_npy_bytes, DataError, Dataset};
use std::path::{Path, PathBuf};

/// The name of the embedded data set (also its [`Dataset::name`]).
pub const NAME: &str = "digits-0123";

/// The files of the folder, by name, as committed in `hetal-cli/data/digits/`.
const FILES: [(&str, &[u8]); 8] = [
    ("train_x.npy", include_bytes!("../data/digits/train_x.npy")),
    ("train_y.npy", include_bytes!("../data/digits/train_y.npy")),
    ("val_x.npy", include_bytes!("../data/digits/val_x.npy")),
    ("val_y.npy", include_bytes!("../data/digits/val_y.npy")),
    ("test_x.npy", include_bytes!("../data/digits/test_x.npy")),
    ("test_y.npy", include_bytes!("../data/digits/test_y.npy")),
    ("manifest.json", include_bytes!("../data/digits/manifest.json")),
    ("README.md", include_bytes!("../data/digits/README.md")),
];

/// The fields of `manifest.json` the binary reads.
#[derive(serde::Deserialize)]
struct Manifest {
    n_classes: usize,
    class_names: Vec<String>,
}

/// The bytes of the embedded file `name` (empty if there is none: the tests check every name
/// used here).
fn file(name: &str) -> &'static [u8] {
    FILES.iter().find(|(n, _)| *n == name).map_or(&[], |(_, bytes)| bytes)
}

/// Where errors say the embedded files are.
fn source() -> PathBuf {
    Path::new("embedded").join(NAME)
}

fn manifest() -> Result<Manifest, DataError> {
    serde_json::from_slice(file("manifest.json")).map_err(|e| DataError::Io {
        path: source().join("manifest.json"),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    })
}

/// The embedded data set, unscaled (features in `0..1`, as stored), with the class count of
/// its manifest (4) and the checks of `hetal_train::data::load_npy_dir`.
pub fn dataset() -> Result<Dataset, DataError> {
    let files = [
        (file("train_x.npy"), file("train_y.npy")),
        (file("val_x.npy"), file("val_y.npy")),
        (file("test_x.npy"), file("test_y.npy")),
    ];
    load_npy_bytes(&source(), files, Some(manifest()?.n_classes))
}

/// Display names of the classes, in label order (`"0"` to `"3"`).
pub fn class_names() -> Vec<String> {
    manifest().map(|m| m.class_names).unwrap_or_default()
}

/// Writes the folder (`{train,val,test}_{x,y}.npy`, `manifest.json`, `README.md`) into `dir`,
/// creating it if needed and replacing files of the same names, so that the file workflow
/// (`hetal encrypt`) can start from real files without the repository.
pub fn write_to(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, bytes) in FILES {
        std::fs::write(dir.join(name), bytes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hetal_train::data::load_npy_dir;

    fn committed() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join("digits")
    }

    #[test]
    fn shapes_labels_and_classes() {
        let ds = dataset().unwrap();
        assert_eq!((ds.name.as_str(), ds.classes, ds.padded_classes(), ds.features()), (NAME, 4, 4, 55));
        assert_eq!((ds.train.len(), ds.val.len(), ds.test.len()), (440, 121, 159));
        for split in [&ds.train, &ds.val, &ds.test] {
            assert!(split.y.iter().all(|&l| l < 4));
            // Every class occurs in every split (the subset keeps whole classes).
            assert!((0..4).all(|k| split.y.contains(&k)));
            assert!(split.x.data.iter().all(|&v| (0.0..=1.0).contains(&v)), "unscaled pixels / 16");
        }
        assert_eq!(class_names(), ["0", "1", "2", "3"]);
    }

    #[test]
    fn embedded_bytes_equal_the_committed_files() {
        let on_disk: Vec<String> = std::fs::read_dir(committed())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(on_disk.len(), FILES.len(), "every committed file is embedded: {on_disk:?}");
        for (name, bytes) in FILES {
            assert_eq!(std::fs::read(committed().join(name)).unwrap(), bytes, "{name}");
            assert!(!file(name).is_empty());
        }
        assert!(file("missing.npy").is_empty());
        let from_disk = load_npy_dir(&committed()).unwrap();
        let embedded = dataset().unwrap();
        assert_eq!(
            (from_disk.classes, &from_disk.train.x, &from_disk.test.y),
            (4, &embedded.train.x, &embedded.test.y)
        );
    }

    #[test]
    fn write_to_gives_a_loadable_folder() {
        let dir = std::env::temp_dir().join(format!("hetal-embedded-{}", std::process::id())).join("nested");
        write_to(&dir).unwrap();
        write_to(&dir).unwrap(); // Overwriting is fine.
        let ds = load_npy_dir(&dir).unwrap();
        let embedded = dataset().unwrap();
        assert_eq!((ds.classes, ds.val.x, ds.val.y), (4, embedded.val.x, embedded.val.y));
        assert!(dir.join("README.md").exists() && dir.join("manifest.json").exists());
        std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }
}
