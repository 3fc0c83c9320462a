//! Hyperparameters of spec section 6 (learning rate and batch size per data set).

/// Learning rate and batch size of one data set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hyperparameters {
    /// Learning rate.
    pub lr: f64,
    /// Mini-batch size.
    pub batch: usize,
}

/// The paper's values by data set (spec section 6), recognised from a name such as a folder
/// of `shared/datasets`: MNIST 2.0/1024, CIFAR-10 1.0/2048, Face Mask 0.5/512, DermaMNIST
/// 0.3/1024, SNIPS 1.0/1024. `None` for other data sets.
pub fn paper_hyperparameters(name: &str) -> Option<Hyperparameters> {
    let name = name.to_ascii_lowercase();
    let table = [
        ("mnist", 2.0, 1024),
        ("cifar", 1.0, 2048),
        ("face_mask", 0.5, 512),
        ("derma", 0.3, 1024),
        ("snips", 1.0, 1024),
    ];
    // "dermamnist" contains "mnist": look for DermaMNIST first.
    let order = [3, 0, 1, 2, 4];
    order
        .iter()
        .map(|&i| table[i])
        .find(|(key, _, _)| name.contains(key))
        .map(|(_, lr, batch)| Hyperparameters { lr, batch })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_by_folder_name() {
        assert_eq!(paper_hyperparameters("mnist_effnetlite0"), Some(Hyperparameters { lr: 2.0, batch: 1024 }));
        assert_eq!(paper_hyperparameters("face_mask_effnetlite0"), Some(Hyperparameters { lr: 0.5, batch: 512 }));
        assert_eq!(paper_hyperparameters("DermaMNIST").map(|h| h.lr), Some(0.3));
        assert_eq!(paper_hyperparameters("digits8x8_raw"), None);
    }
}
