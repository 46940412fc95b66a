//! The IDX reader on the shipped files and on corrupted copies, and the DataLoader.
//!
//! Expected counts, labels and checksums come from tests/data/idx_reference.py, which reads
//! the same files with Python's gzip and struct modules.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use tapegrad::Tensor;
use tapegrad::data::{DataLoader, Dataset, Mnist, TensorDataset};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Sum of the raw pixel bytes of the whole split, via the dataset's public accessors.
fn pixel_sum(data: &Mnist) -> u64 {
    (0..data.len()).map(|i| data.pixels(i).iter().map(|&p| p as u64).sum::<u64>()).sum()
}

#[test]
fn mnist_5k_matches_the_reference_counts_labels_and_checksums() {
    let train = Mnist::load(root().join("data/mnist-5k"), true).unwrap();
    let test = Mnist::load(root().join("data/mnist-5k"), false).unwrap();
    assert_eq!((train.len(), test.len()), (4000, 1000));
    assert_eq!(train.image_size(), (28, 28));
    assert_eq!((0..5).map(|i| train.label(i)).collect::<Vec<_>>(), vec![4, 2, 0, 9, 6]);
    assert_eq!((0..5).map(|i| test.label(i)).collect::<Vec<_>>(), vec![3, 0, 6, 7, 8]);
    assert_eq!(pixel_sum(&train), 104_720_938);
    assert_eq!(pixel_sum(&test), 26_546_164);
    let mut counts = [0usize; 10];
    (0..test.len()).for_each(|i| counts[test.label(i) as usize] += 1);
    assert_eq!(counts, [104, 113, 97, 86, 102, 109, 108, 105, 92, 84]);
}

#[test]
fn digits_match_the_reference() {
    let train = Mnist::load(root().join("data/digits"), true).unwrap();
    let test = Mnist::load(root().join("data/digits"), false).unwrap();
    assert_eq!((train.len(), test.len()), (1437, 360));
    assert_eq!(train.image_size(), (8, 8));
    assert_eq!((0..5).map(|i| test.label(i)).collect::<Vec<_>>(), vec![0, 9, 0, 5, 6]);
    assert_eq!(pixel_sum(&train), 449_327);
    assert_eq!(pixel_sum(&test), 112_391);
}

#[test]
fn samples_are_normalised_like_torchvision() {
    let (mean, std) = tapegrad::data::MNIST_MEAN_STD;
    let raw = Mnist::load(root().join("data/mnist-5k"), false).unwrap();
    let normalised = raw.clone().normalize(mean, std);
    let (image, label) = normalised.get(0);
    assert_eq!(image.shape(), &[1, 28, 28]);
    assert_eq!(label.item(), 3.0);
    // ToTensor() then Normalize(mean, std), element by element.
    for (v, &p) in image.to_vec().iter().zip(raw.pixels(0)) {
        let expected = (p as f32 / 255.0 - mean) / std;
        assert!((v - expected).abs() < 1e-6);
    }
    // First image's pixel sum from the reference script: 29864.
    let (unnormalised, _) = raw.get(0);
    assert!((unnormalised.sum().item() * 255.0 - 29_864.0).abs() < 0.5);
    // A batch equals the stacked samples.
    let (batch, labels) = normalised.get_batch(&[0, 7, 3]);
    assert_eq!(batch.shape(), &[3, 1, 28, 28]);
    assert_eq!(batch.narrow(0, 1, 1).to_vec(), normalised.get(7).0.to_vec());
    assert_eq!(labels.to_vec(), vec![3.0, normalised.label(7) as f32, normalised.label(3) as f32]);
}

/// A scratch directory holding an uncompressed copy of the digits test split, with `edit`
/// applied to the bytes of one file.
fn corrupted_copy(name: &str, file: &str, edit: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tapegrad_idx_{name}_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut edit = Some(edit);
    for f in ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"] {
        let gz = std::fs::read(root().join("data/digits").join(format!("{f}.gz"))).unwrap();
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(gz.as_slice()).read_to_end(&mut bytes).unwrap();
        if f == file {
            (edit.take().unwrap())(&mut bytes);
        }
        std::fs::File::create(dir.join(f)).unwrap().write_all(&bytes).unwrap();
    }
    dir
}

fn load_err(dir: &Path) -> String {
    let err = Mnist::load(dir, false).unwrap_err();
    let _ = std::fs::remove_dir_all(dir);
    err.to_string()
}

#[test]
fn corrupted_files_are_errors_that_name_the_file_and_the_problem() {
    let truncated = corrupted_copy("truncated", "t10k-images-idx3-ubyte", |b| b.truncate(b.len() - 10));
    let msg = load_err(&truncated);
    assert!(msg.contains("t10k-images-idx3-ubyte") && msg.contains("holds"), "{msg}");

    let magic = corrupted_copy("magic", "t10k-labels-idx1-ubyte", |b| b[0] = 0x42);
    let msg = load_err(&magic);
    assert!(msg.contains("t10k-labels-idx1-ubyte") && msg.contains("magic"), "{msg}");

    let lying = corrupted_copy("lying", "t10k-images-idx3-ubyte", |b| b[4..8].copy_from_slice(&u32::MAX.to_be_bytes()));
    let msg = load_err(&lying);
    assert!(msg.contains("header declares"), "{msg}");

    let fewer_labels = corrupted_copy("counts", "t10k-labels-idx1-ubyte", |b| {
        b[4..8].copy_from_slice(&359u32.to_be_bytes());
        b.pop();
    });
    let msg = load_err(&fewer_labels);
    assert!(msg.contains("360 images") && msg.contains("359 labels"), "{msg}");

    let not_gzip = std::env::temp_dir().join(format!("tapegrad_idx_badgz_{}", std::process::id()));
    std::fs::create_dir_all(&not_gzip).unwrap();
    std::fs::write(not_gzip.join("t10k-images-idx3-ubyte.gz"), [0x1f, 0x8b, 1, 2, 3]).unwrap();
    std::fs::write(not_gzip.join("t10k-labels-idx1-ubyte.gz"), [0x1f, 0x8b, 1, 2, 3]).unwrap();
    let msg = load_err(&not_gzip);
    assert!(msg.contains("gzip"), "{msg}");

    let missing = load_err(Path::new("/nonexistent/tapegrad"));
    assert!(missing.contains("not found") || missing.contains("neither"), "{missing}");
}

fn indexed_dataset(n: usize) -> TensorDataset {
    let x = Tensor::arange(0.0, n as f32, 1.0).reshape(&[n as isize, 1]);
    TensorDataset::new(x.clone(), x.reshape(&[n as isize])).unwrap()
}

fn epoch(loader: &mut DataLoader<TensorDataset>) -> Vec<usize> {
    loader
        .iter()
        .flat_map(|(x, y)| {
            assert_eq!(x.to_vec(), y.to_vec(), "inputs and targets stay paired");
            y.to_vec().into_iter().map(|v| v as usize)
        })
        .collect()
}

#[test]
fn every_sample_once_per_epoch_in_a_new_reproducible_order() {
    let mut loader = DataLoader::builder(indexed_dataset(103)).batch_size(10).shuffle(true).seed(7).build().unwrap();
    assert_eq!(loader.len(), 11);
    let first = epoch(&mut loader);
    let second = epoch(&mut loader);
    for order in [&first, &second] {
        assert_eq!(order.len(), 103);
        assert_eq!(order.iter().copied().collect::<HashSet<_>>().len(), 103);
    }
    assert_ne!(first, second, "each epoch reshuffles");
    assert_ne!(first, (0..103).collect::<Vec<_>>());
    let mut again = DataLoader::builder(indexed_dataset(103)).batch_size(10).shuffle(true).seed(7).build().unwrap();
    assert_eq!(epoch(&mut again), first, "the same seed gives the same order");
    assert_eq!(epoch(&mut again), second);
}

#[test]
fn without_shuffle_the_order_is_sequential_and_drop_last_drops() {
    let mut loader = DataLoader::builder(indexed_dataset(10)).batch_size(4).build().unwrap();
    assert_eq!(epoch(&mut loader), (0..10).collect::<Vec<_>>());
    let mut dropping = DataLoader::builder(indexed_dataset(10)).batch_size(4).drop_last(true).build().unwrap();
    assert_eq!(dropping.len(), 2);
    assert_eq!(dropping.iter().count(), 2);
    assert_eq!(
        DataLoader::builder(indexed_dataset(3)).batch_size(0).build().err().unwrap().message(),
        "batch_size should be a positive integer value, but got batch_size=0"
    );
}

#[test]
fn global_generator_shuffles_reproducibly_with_manual_seed() {
    let mut loader = DataLoader::builder(indexed_dataset(50)).batch_size(8).shuffle(true).build().unwrap();
    tapegrad::manual_seed(3);
    let a = epoch(&mut loader);
    tapegrad::manual_seed(3);
    let b = epoch(&mut loader);
    assert_eq!(a, b);
}

#[test]
fn dropping_the_iterator_mid_epoch_stops_the_worker() {
    let mut loader = DataLoader::builder(indexed_dataset(1000)).batch_size(1).build().unwrap();
    let mut it = loader.iter();
    assert!(it.next().is_some());
    drop(it); // joins the worker; a hang here would time the test out
    assert_eq!(epoch(&mut loader).len(), 1000, "the loader still works afterwards");
}
