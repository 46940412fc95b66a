//! Bad files never crash a loader: random bytes and random corruptions of the real files
//! (truncation, bit flips, lying header counts, huge declared sizes) fed to `read_idx`,
//! `Mnist::load` and `tapegrad::load` (the optimiser state is in fuzz_optimizer_state.rs).
//!
//! Each case is judged by an oracle written here from the formats' definitions (the IDX
//! layout, the safetensors layout and the checks listed in docs/design.md): an invalid file
//! must give `Err`, a valid one `Ok` with the oracle's contents. A panic is a failure, and
//! so is any single allocation larger than a small multiple of the file's own size (an
//! allocation sized from an unchecked header): a counting global allocator records the
//! largest allocation made on the loading thread.
//!
//! Case counts are in the test names.

mod common;
#[path = "common/files.rs"]
mod files;

use std::path::Path;
use std::sync::OnceLock;

use common::catch_quietly;
use files::*;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use tapegrad::Tensor;
use tapegrad::data::{Dataset, Mnist, read_idx};
use tapegrad::serialize::load_optimizer;

#[global_allocator]
static ALLOCATOR: PeakAllocator = PeakAllocator;

// ----- IDX -----------------------------------------------------------------------------------------

/// The IDX layout (http://yann.lecun.com/exdb/mnist/): bytes 0 and 1 zero, byte 2 the type
/// (0x08, unsigned byte, the only one tapegrad reads), byte 3 the number of dims (≥ 1),
/// then one big-endian u32 per dim, then exactly ∏dims bytes.
fn idx_oracle(bytes: &[u8]) -> Option<(Vec<usize>, Vec<u8>)> {
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) { gunzip(bytes)? } else { bytes.to_vec() };
    if bytes.len() < 4 || bytes[..3] != [0, 0, 8] || bytes[3] == 0 {
        return None;
    }
    let header = 4 + 4 * bytes[3] as usize;
    let dims: Vec<usize> =
        bytes.get(4..header)?.chunks(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize).collect();
    let count = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d))?;
    (bytes.len() - header == count).then(|| (dims, bytes[header..].to_vec()))
}

fn check_idx(bytes: &[u8], gzipped: bool) {
    let path = scratch("idx");
    std::fs::write(&path, bytes).unwrap();
    let limit = if gzipped { gzip_limit(bytes.len()) } else { plain_limit(bytes.len()) };
    let result = run_loader("read_idx", limit, || read_idx(&path));
    match (result, idx_oracle(bytes)) {
        (Ok(idx), Some((shape, data))) => {
            assert_eq!(idx.shape, shape);
            assert!(idx.data == data, "read_idx returned other bytes than the file holds");
        }
        (Err(e), None) => {
            assert!(e.to_string().contains(&path.display().to_string()), "the error names the file: {e}");
        }
        (Ok(idx), None) => panic!("read_idx accepted an invalid file as shape {:?}", idx.shape),
        (Err(e), Some((shape, _))) => panic!("read_idx rejected a valid file of shape {shape:?}: {e}"),
    }
    std::fs::remove_file(&path).unwrap();
}

/// Random bytes, often behind a plausible IDX magic number so that the header is parsed.
fn idx_like_bytes() -> impl Strategy<Value = Vec<u8>> {
    let random = prop::collection::vec(any::<u8>(), 0..64);
    let plausible = (0u8..6, prop::collection::vec(any::<u8>(), 0..48)).prop_map(|(ndim, rest)| {
        let mut bytes = vec![0, 0, 8, ndim];
        bytes.extend(rest);
        bytes
    });
    let small_dims = (prop::collection::vec(0u32..5, 1..4), 0usize..70, any::<u8>()).prop_map(|(dims, len, fill)| {
        let mut bytes = vec![0, 0, 8, dims.len() as u8];
        dims.iter().for_each(|d| bytes.extend(d.to_be_bytes()));
        bytes.extend(std::iter::repeat_n(fill, len));
        bytes
    });
    prop_oneof![random, plausible, small_dims]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn idx_random_bytes_400_cases(bytes in idx_like_bytes()) {
        check_idx(&bytes, false);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn idx_corrupted_real_files_300_cases(file in 0usize..3, damage in corruption()) {
        check_idx(&corrupt(&idx_files()[file].2, &damage), false);
    }

    #[test]
    fn idx_corrupted_gzip_files_300_cases(file in 0usize..3, damage in corruption()) {
        check_idx(&corrupt(&idx_files()[file].1, &damage), true);
    }
}

/// `Mnist::load` on a directory holding the digits test split with either file damaged:
/// valid only if both files are, the images are 3-d, the labels 1-d, and the counts agree.
fn check_mnist(images: &[u8], labels: &[u8]) {
    let dir = scratch("mnist");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("t10k-images-idx3-ubyte"), images).unwrap();
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), labels).unwrap();
    let expected = match (idx_oracle(images), idx_oracle(labels)) {
        (Some((i, _)), Some((l, _))) if i.len() == 3 && l.len() == 1 && i[0] == l[0] => Some(i),
        _ => None,
    };
    let limit = plain_limit(images.len() + labels.len());
    let result = run_loader("Mnist::load", limit, || Mnist::load(&dir, false));
    match (result, expected) {
        (Ok(mnist), Some(shape)) => {
            assert_eq!((mnist.len(), mnist.image_size()), (shape[0], (shape[1], shape[2])));
            if !mnist.is_empty() {
                let (image, _) = mnist.get(mnist.len() - 1);
                assert_eq!(image.shape(), &[1, shape[1], shape[2]]);
            }
        }
        (Err(_), None) => {}
        (Ok(_), None) => panic!("Mnist::load accepted an invalid split"),
        (Err(e), Some(shape)) => panic!("Mnist::load rejected a valid split of images {shape:?}: {e}"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mnist_load_with_a_damaged_file_200_cases(damage_images in any::<bool>(), damage in corruption()) {
        let images = gunzip(&std::fs::read(root().join("data/digits/t10k-images-idx3-ubyte.gz")).unwrap()).unwrap();
        let labels = gunzip(&std::fs::read(root().join("data/digits/t10k-labels-idx1-ubyte.gz")).unwrap()).unwrap();
        if damage_images {
            check_mnist(&corrupt(&images, &damage), &labels);
        } else {
            check_mnist(&images, &corrupt(&labels, &damage));
        }
    }
}

#[test]
fn mnist_with_zero_images_of_a_huge_size_loads_or_fails_cleanly() {
    // 0 images of 2³²−1 × 2³²−1 pixels: a valid IDX file (no data) that describes images
    // no tensor can hold. Loading must not panic, and neither may using the dataset.
    let mut images = vec![0, 0, 8, 3];
    for d in [0, u32::MAX, u32::MAX] {
        images.extend(d.to_be_bytes());
    }
    let labels = [0, 0, 8, 1, 0, 0, 0, 0];
    let dir = scratch("mnist_huge");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("t10k-images-idx3-ubyte"), &images).unwrap();
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), labels).unwrap();
    let result = run_loader("Mnist::load", plain_limit(64), || Mnist::load(&dir, false));
    if let Ok(mnist) = result {
        catch_quietly(|| mnist.get_batch(&[])).expect("an empty batch of a loaded dataset must not panic");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

fn check_safetensors(bytes: &[u8]) {
    let path = scratch("safetensors");
    std::fs::write(&path, bytes).unwrap();
    let result = run_loader("tapegrad::load", plain_limit(bytes.len()), || tapegrad::load(&path));
    match (result, safetensors_oracle(bytes)) {
        (Ok(state), Some(mut expected)) => {
            let mut got: Vec<(String, Tensor)> = state;
            got.sort_by(|a, b| a.0.cmp(&b.0));
            expected.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(got.len(), expected.len());
            for ((name, tensor), (expected_name, shape, values)) in got.iter().zip(&expected) {
                assert_eq!((name, tensor.shape()), (expected_name, shape.as_slice()));
                if let Some(values) = values {
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert!(bits(&tensor.to_vec()) == bits(values), "{name}: other values than the file holds");
                }
            }
        }
        (Err(e), None) => {
            assert!(e.to_string().contains(&path.display().to_string()), "the error names the file: {e}");
        }
        (Ok(state), None) => panic!("tapegrad::load accepted an invalid file ({} tensors)", state.len()),
        (Err(e), Some(_)) => panic!("tapegrad::load rejected a valid file: {e}"),
    }
    std::fs::remove_file(&path).unwrap();
}

fn pytorch_checkpoint() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| std::fs::read(root().join("tests/data/interop/lenet5_pytorch.safetensors")).unwrap())
}

/// Rewrites one number of the JSON header (the `index`-th run of digits, modulo their
/// count) as `value`, and fixes the header length: a header that lies about a shape or an
/// offset while staying valid JSON.
/// A header built from parts that are each valid or not, with data of a fitting or an
/// unfitting length: reaches every check of the reader.
fn random_safetensors() -> impl Strategy<Value = Vec<u8>> {
    // Mostly valid parts, so that a case often passes every check but one.
    let dtype = prop_oneof![
        9 => prop::sample::select(vec!["F32", "F64", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL"]),
        1 => prop::sample::select(vec!["F8", ""]),
    ];
    let huge = prop::sample::select(vec![u64::MAX, 1 << 62, 1 << 61, 1 << 32, 1 << 31]);
    let dim = prop_oneof![4 => 0u64..4, 1 => huge.clone()];
    // An empty tensor with huge other sizes: no data, but no tensor either.
    let empty_huge = (huge.clone(), huge, 0usize..3).prop_map(|(a, b, at)| {
        let mut shape = vec![a, b];
        shape.insert(at, 0);
        shape
    });
    let shape = prop_oneof![3 => prop::collection::vec(dim, 0..4), 1 => empty_huge];
    let honest = prop::bool::weighted(0.85);
    let entry = (dtype, shape, honest, (any::<u16>(), any::<u16>()));
    let name = prop::sample::select(vec!["a", "b", "c.weight", "__metadata__"]);
    let extra_data = prop_oneof![3 => Just(0usize), 1 => 1usize..3];
    (prop::collection::vec((name, entry), 0..4), extra_data, honest, any::<u8>()).prop_map(
        |(entries, extra_data, honest_length, raw_metadata)| {
            let mut header = Map::new();
            let mut offset = 0u64;
            for (name, (dtype, shape, honest_offsets, (a, b))) in entries {
                if name == "__metadata__" {
                    let value =
                        if raw_metadata % 2 == 0 { json!({"format": "pt"}) } else { json!({"n": raw_metadata}) };
                    header.insert(name.into(), value);
                    continue;
                }
                let size = match dtype {
                    "F64" | "I64" => 8,
                    "F16" | "BF16" | "I16" => 2,
                    "I8" | "U8" | "BOOL" | "F8" | "" => 1,
                    _ => 4,
                };
                let count = shape.iter().try_fold(size, |n: u64, &d| n.checked_mul(d)).filter(|&n| n < 4096);
                let (begin, end) = match (honest_offsets, count) {
                    (true, Some(count)) => (offset, offset + count),
                    _ => (a as u64, b as u64),
                };
                offset = offset.max(end);
                header.insert(name.into(), json!({"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}));
            }
            let mut text = serde_json::to_vec(&Value::Object(header)).unwrap();
            text.resize(text.len().div_ceil(8) * 8, b' ');
            let declared = if honest_length { text.len() as u64 } else { text.len() as u64 + raw_metadata as u64 };
            let mut bytes = declared.to_le_bytes().to_vec();
            bytes.extend(text);
            bytes.extend((0..offset.min(1 << 14) as usize + extra_data).map(|i| i as u8));
            bytes
        },
    )
}

/// A file with one entry of `shape` and `dtype` whose offsets agree with its byte size
/// (computed with wrapping arithmetic, as a careless writer would).
fn single_entry_file(dtype: &str, shape: &[u64]) -> Vec<u8> {
    let bytes = shape.iter().fold(4u64, |n, &d| n.wrapping_mul(d));
    let header = json!({"t": {"dtype": dtype, "shape": shape, "data_offsets": [0, bytes]}});
    let text = serde_json::to_vec(&header).unwrap();
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend(text);
    out.extend(std::iter::repeat_n(0u8, bytes.min(64) as usize));
    out
}

#[test]
fn safetensors_empty_or_wrapping_tensors_of_huge_shapes_8_cases() {
    let huge = [
        vec![0, u64::MAX],
        vec![0, 1 << 62, 1 << 62],
        vec![1 << 62, 0],
        vec![0, 1 << 61],
        vec![1 << 32, 1 << 32], // ×4 bytes wraps to 0
        vec![1 << 31, 1 << 31, 4],
        vec![u64::MAX, u64::MAX],
        vec![],
    ];
    for shape in huge {
        check_safetensors(&single_entry_file("F32", &shape));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn safetensors_random_bytes_and_headers_400_cases(
        bytes in prop_oneof![prop::collection::vec(any::<u8>(), 0..80), random_safetensors()]
    ) {
        check_safetensors(&bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn safetensors_corrupted_pytorch_checkpoint_300_cases(damage in corruption()) {
        check_safetensors(&corrupt(pytorch_checkpoint(), &damage));
    }

    #[test]
    fn safetensors_pytorch_checkpoint_with_lying_numbers_300_cases(index in any::<usize>(), value in lying_number()) {
        check_safetensors(&lie_in_header(pytorch_checkpoint(), index, &value));
    }
}

#[test]
fn the_allocation_check_catches_an_allocation_sized_from_a_header() {
    // A careless loader that trusts a declared size: the check must fail it.
    let careless = catch_quietly(|| {
        run_loader("careless", plain_limit(16), || {
            let declared = 64 << 20; // 64 MiB, "read from the header" of a 16-byte file
            let buffer: Vec<u8> = Vec::with_capacity(declared);
            Ok(buffer.capacity())
        })
    });
    let message = careless.expect_err("the check let a 64 MiB allocation through");
    assert!(message.contains("more than the"), "{message}");
}

#[test]
fn loading_a_missing_file_or_a_directory_is_an_error() {
    let missing = Path::new("/nonexistent/tapegrad/file");
    assert!(run_loader("read_idx", 1 << 20, || read_idx(missing)).is_err());
    assert!(run_loader("tapegrad::load", 1 << 20, || tapegrad::load(missing)).is_err());
    assert!(run_loader("load_optimizer", 1 << 20, || load_optimizer(missing)).is_err());
    let dir = std::env::temp_dir();
    assert!(run_loader("tapegrad::load", 1 << 20, || tapegrad::load(&dir)).is_err());
}
