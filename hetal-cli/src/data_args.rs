//! Where a command reads its data from: a folder of `.npy` files, CSV files with a header, or
//! the embedded data set.

use hetal_train::data::{load_csv, load_csv_with_features, load_npy_dir, DataError, Dataset, LabelColumn};
use std::path::PathBuf;

/// Data options shared by `encrypt` and `evaluate`.
#[derive(Debug, Clone, clap::Args)]
pub struct DataArgs {
    /// A folder with {train,val,test}_{x,y}.npy (float features, integer labels).
    #[arg(long, conflicts_with_all = ["embedded", "train_csv"])]
    pub data: Option<PathBuf>,
    /// The embedded data set (`hetal demo`'s).
    #[arg(long, conflicts_with = "train_csv")]
    pub embedded: bool,
    /// Training CSV (header row, numeric features, an integer label column).
    #[arg(long, requires = "val_csv")]
    pub train_csv: Option<PathBuf>,
    /// Validation CSV (same columns).
    #[arg(long)]
    pub val_csv: Option<PathBuf>,
    /// Test CSV (same columns; defaults to the validation CSV).
    #[arg(long)]
    pub test_csv: Option<PathBuf>,
    /// The label column of the CSV files (default: the last column).
    #[arg(long)]
    pub label_column: Option<String>,
}

/// Where the data came from, for reports.
pub fn describe(args: &DataArgs) -> String {
    if let Some(d) = &args.data {
        d.display().to_string()
    } else if let Some(t) = &args.train_csv {
        t.display().to_string()
    } else {
        format!("embedded:{}", crate::embedded::NAME)
    }
}

impl DataArgs {
    /// Whether any source was named.
    pub fn given(&self) -> bool {
        self.data.is_some() || self.embedded || self.train_csv.is_some()
    }

    /// Loads the data set (`classes` is needed to check CSV labels). Errors name the file.
    pub fn load(&self, classes: usize) -> Result<Dataset, DataError> {
        if let Some(dir) = &self.data {
            return load_npy_dir(dir);
        }
        if let (Some(train), Some(val)) = (&self.train_csv, &self.val_csv) {
            let label = self.label_column.clone().map_or(LabelColumn::Last, LabelColumn::Named);
            let train_split = load_csv(train, &label, classes)?;
            // Validation and test must have the training data's width: refused here, at the
            // client, not on the server or in a product.
            let features = train_split.x.cols;
            let val_split = load_csv_with_features(val, &label, classes, features)?;
            let test_split = match &self.test_csv {
                Some(t) => load_csv_with_features(t, &label, classes, features)?,
                None => val_split.clone(),
            };
            let name = train.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            return Ok(Dataset { name, classes, train: train_split, val: val_split, test: test_split });
        }
        crate::embedded::dataset()
    }
}
