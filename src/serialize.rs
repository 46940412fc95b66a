//! Checkpoints in the safetensors format, readable by PyTorch's
//! `safetensors.torch.load_file` and written by its `save_file`.
//!
//! Layout: an 8-byte little-endian header length `N`, `N` bytes of JSON
//! (`{"conv1.weight": {"dtype": "F32", "shape": [6, 1, 5, 5], "data_offsets": [0, 600]}, ...,
//! "__metadata__": {...}}`, padded with spaces), then the tensors' bytes, little-endian.
//!
//! Writing is atomic: the file is written and flushed under a temporary name in the same
//! directory, then renamed over the target, so an interrupted save never destroys the
//! previous checkpoint. Reading checks every offset and size against the file before using
//! it; any inconsistency is an [`Error::Io`] that names the file and the problem.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::nn::StateDict;
use crate::optim::{Buffer, OptimizerState};
use crate::tensor::{Tensor, checked_numel};

/// The longest header accepted (100 MB, the safetensors library's own limit).
const MAX_HEADER: u64 = 100_000_000;

/// Writes `state` (e.g. `model.state_dict()`) to `path` as safetensors, `f32`
/// little-endian, keys as given. PyTorch: `safetensors.torch.save_file(state_dict, path)`.
///
/// # Errors
/// [`Error::Io`] if the file cannot be written; the previous file at `path`, if any, is
/// then left untouched.
///
/// ```
/// use tapegrad::nn::{Linear, Module};
/// let model = Linear::new(3, 2);
/// let path = std::env::temp_dir().join("tapegrad_doc_linear.safetensors");
/// tapegrad::save(&model.state_dict(), &path).unwrap();
/// let restored = Linear::new(3, 2);
/// restored.load_state_dict(&tapegrad::load(&path).unwrap(), true).unwrap();
/// assert_eq!(restored.weight.to_vec(), model.weight.to_vec());
/// ```
pub fn save(state: &StateDict, path: impl AsRef<Path>) -> Result<()> {
    save_with_metadata(state, &BTreeMap::new(), path)
}

/// [`save`] with string metadata in the header's `__metadata__` (PyTorch: `save_file(...,
/// metadata=...)`).
///
/// # Errors
/// As [`save`].
///
/// ```
/// use std::collections::BTreeMap;
/// use tapegrad::{Tensor, serialize::{load_with_metadata, save_with_metadata}};
/// let state = vec![("w".to_string(), Tensor::ones(&[2]))];
/// let metadata = BTreeMap::from([("epoch".to_string(), "3".to_string())]);
/// let path = std::env::temp_dir().join(format!("tapegrad_doc_meta_{}.safetensors", std::process::id()));
/// save_with_metadata(&state, &metadata, &path).unwrap();
/// let (loaded, meta) = load_with_metadata(&path).unwrap();
/// assert_eq!((loaded[0].0.as_str(), meta["epoch"].as_str()), ("w", "3"));
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn save_with_metadata(
    state: &StateDict,
    metadata: &BTreeMap<String, String>,
    path: impl AsRef<Path>,
) -> Result<()> {
    write_atomically(path.as_ref(), &encode(state, metadata)?, || Ok(()))
}

/// Reads a safetensors file into a state dict, in the file's order of data offsets.
/// Tensors of other element types (F64, F16, BF16, I64, I32, I16, I8, U8, BOOL) are
/// converted to `f32`. PyTorch: `safetensors.torch.load_file(path)`. Example on [`save`].
///
/// # Errors
/// [`Error::Io`] naming the file and what is wrong with it.
///
/// ```
/// let path = std::env::temp_dir().join(format!("tapegrad_doc_bad_{}.safetensors", std::process::id()));
/// std::fs::write(&path, b"not a checkpoint").unwrap();
/// let err = tapegrad::load(&path).unwrap_err();
/// assert!(matches!(err, tapegrad::Error::Io(_)) && err.message().contains("tapegrad_doc_bad_"));
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn load(path: impl AsRef<Path>) -> Result<StateDict> {
    load_with_metadata(path).map(|(state, _)| state)
}

/// [`load`], also returning the header's `__metadata__`. PyTorch: `safetensors.safe_open(path,
/// "pt").metadata()` next to `load_file(path)`. Example on [`save_with_metadata`].
///
/// # Errors
/// As [`load`].
pub fn load_with_metadata(path: impl AsRef<Path>) -> Result<(StateDict, BTreeMap<String, String>)> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
    decode(&bytes).map_err(|e| Error::Io(format!("{}: {e}", path.display())))
}

/// Writes an optimizer's state (e.g. `optimizer.state_dict()`) to `path`, atomically: every
/// buffer as a safetensors tensor named `state.{param}.{buffer}` (PyTorch's names, such
/// as `state.0.momentum_buffer`), and the hyper-parameters and step counts as JSON in the
/// header's `__metadata__["optimizer"]`. PyTorch: `torch.save(optimizer.state_dict(), path)`.
///
/// # Errors
/// [`Error::Io`] if the file cannot be written (the previous file is then untouched).
///
/// ```
/// use tapegrad::{Tensor, nn::Parameter, optim::{Optimizer, Sgd}};
/// let p = Parameter::new(Tensor::ones(&[2]));
/// let mut sgd = Sgd::builder(vec![p.clone()], 0.1).momentum(0.9).build().unwrap();
/// (&*p * 3.0).sum().backward();
/// sgd.step();
/// let path = std::env::temp_dir().join("tapegrad_doc_sgd.safetensors");
/// tapegrad::serialize::save_optimizer(&sgd.state_dict(), &path).unwrap();
/// assert_eq!(tapegrad::serialize::load_optimizer(&path).unwrap(), sgd.state_dict());
/// ```
pub fn save_optimizer(state: &OptimizerState, path: impl AsRef<Path>) -> Result<()> {
    let mut tensors: StateDict = Vec::new();
    let mut skeleton = state.clone();
    for (index, param) in skeleton.state.iter_mut() {
        for (name, buffer) in std::mem::take(&mut param.buffers) {
            tensors.push((format!("state.{index}.{name}"), buffer.to_tensor()?));
        }
    }
    let json = serde_json::to_string(&skeleton).map_err(|e| Error::Value(format!("optimizer state: {e}")))?;
    save_with_metadata(&tensors, &BTreeMap::from([("optimizer".to_string(), json)]), path)
}

/// Reads an optimizer state written by [`save_optimizer`]; pass it to the optimizer's
/// `load_state_dict`, which checks it against the parameters. PyTorch: `torch.load(path)`
/// of a saved `optimizer.state_dict()`. Example on [`save_optimizer`].
///
/// # Errors
/// [`Error::Io`] naming the file when it is not a valid safetensors file, has no optimizer
/// metadata, or holds tensors that do not belong to a listed parameter.
pub fn load_optimizer(path: impl AsRef<Path>) -> Result<OptimizerState> {
    let path = path.as_ref();
    let fail = |what: String| Error::Io(format!("{}: {what}", path.display()));
    let (tensors, metadata) = load_with_metadata(path)?;
    let json = metadata.get("optimizer").ok_or_else(|| fail("no optimizer state in __metadata__".into()))?;
    let mut state: OptimizerState =
        serde_json::from_str(json).map_err(|e| fail(format!("optimizer metadata is not valid: {e}")))?;
    for (name, tensor) in tensors {
        let parsed = name
            .strip_prefix("state.")
            .and_then(|rest| rest.split_once('.'))
            .and_then(|(index, buffer)| Some((index.parse::<usize>().ok()?, buffer.to_string())));
        let Some((index, buffer)) = parsed else {
            return Err(fail(format!("unexpected tensor {name:?}: expected state.<param>.<buffer>")));
        };
        let param = state
            .state
            .get_mut(&index)
            .ok_or_else(|| fail(format!("tensor {name:?} belongs to parameter {index}, which has no state")))?;
        param.buffers.insert(buffer, Buffer::from_tensor(&tensor));
    }
    Ok(state)
}

/// The bytes of a safetensors file holding `state`.
pub(crate) fn encode(state: &StateDict, metadata: &BTreeMap<String, String>) -> Result<Vec<u8>> {
    let mut header = Map::new();
    if !metadata.is_empty() {
        header.insert("__metadata__".into(), serde_json::to_value(metadata).expect("strings serialise"));
    }
    let mut offset = 0usize;
    for (name, tensor) in state {
        if name == "__metadata__" || header.contains_key(name) {
            return Err(Error::Value(format!("cannot save tensor name {name:?}: reserved or repeated")));
        }
        let end = offset + tensor.numel() * 4;
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": "F32", "shape": tensor.shape(), "data_offsets": [offset, end]}),
        );
        offset = end;
    }
    let mut header = serde_json::to_vec(&Value::Object(header)).expect("a JSON object serialises");
    // Pad with spaces so that the data starts 8-byte aligned, as the reference writer does.
    header.resize(header.len().div_ceil(8) * 8, b' ');
    let mut out = Vec::with_capacity(8 + header.len() + offset);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(&header);
    for (_, tensor) in state {
        for v in tensor.data().iter() {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    Ok(out)
}

/// Parses safetensors bytes, checking every count against the actual length first.
pub(crate) fn decode(bytes: &[u8]) -> std::result::Result<(StateDict, BTreeMap<String, String>), String> {
    if bytes.len() < 8 {
        return Err(format!(
            "too short for a safetensors file ({} bytes; the header length alone takes 8)",
            bytes.len()
        ));
    }
    let header_len = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    if header_len > MAX_HEADER || header_len > (bytes.len() - 8) as u64 {
        return Err(format!("header length {header_len} exceeds the file ({} bytes) or the 100 MB limit", bytes.len()));
    }
    let header_end = 8 + header_len as usize;
    let header: Map<String, Value> = match serde_json::from_slice(&bytes[8..header_end]) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return Err("header is not a JSON object".into()),
        Err(e) => return Err(format!("header is not valid JSON: {e}")),
    };
    let data = &bytes[header_end..];
    let mut metadata = BTreeMap::new();
    let mut entries = Vec::new();
    for (name, info) in &header {
        if name == "__metadata__" {
            let map = info.as_object().ok_or("__metadata__ is not an object")?;
            for (k, v) in map {
                metadata.insert(k.clone(), v.as_str().ok_or(format!("__metadata__.{k} is not a string"))?.to_string());
            }
            continue;
        }
        entries.push((name.clone(), parse_entry(name, info, data.len())?));
    }
    // The data must be covered exactly, without holes or overlaps.
    // By (begin, end), as the reference reader: an empty tensor may share its offset with
    // the next one, and must come first.
    entries.sort_by_key(|(_, e)| (e.begin, e.end));
    let mut expected_begin = 0;
    for (name, e) in &entries {
        if e.begin != expected_begin {
            return Err(format!(
                "tensor {name:?} starts at byte {} but the previous one ends at {expected_begin}",
                e.begin
            ));
        }
        expected_begin = e.end;
    }
    if expected_begin != data.len() {
        return Err(format!("the tensors cover {expected_begin} bytes of data but the file holds {}", data.len()));
    }
    let state = entries
        .into_iter()
        .map(|(name, e)| {
            let values = e.dtype.to_f32(&data[e.begin..e.end]);
            (name, Tensor::from_vec(values, &e.shape).expect("size checked against the shape"))
        })
        .collect();
    Ok((state, metadata))
}

struct Entry {
    dtype: Dtype,
    shape: Vec<usize>,
    begin: usize,
    end: usize,
}

fn parse_entry(name: &str, info: &Value, data_len: usize) -> std::result::Result<Entry, String> {
    let dtype_name = info.get("dtype").and_then(Value::as_str).ok_or(format!("tensor {name:?} has no dtype"))?;
    let dtype = Dtype::parse(dtype_name).ok_or(format!("tensor {name:?} has unsupported dtype {dtype_name}"))?;
    let shape: Vec<usize> = info
        .get("shape")
        .and_then(Value::as_array)
        .ok_or(format!("tensor {name:?} has no shape"))?
        .iter()
        .map(|d| d.as_u64().map(|d| d as usize).ok_or(format!("tensor {name:?} has a shape entry that is not a size")))
        .collect::<std::result::Result<_, _>>()?;
    let offsets: Vec<u64> = info
        .get("data_offsets")
        .and_then(Value::as_array)
        .filter(|o| o.len() == 2)
        .ok_or(format!("tensor {name:?} needs data_offsets [begin, end]"))?
        .iter()
        .map(|o| o.as_u64().ok_or(format!("tensor {name:?} has an offset that is not a byte position")))
        .collect::<std::result::Result<_, _>>()?;
    let (begin, end) = (offsets[0], offsets[1]);
    if begin > end || end > data_len as u64 {
        return Err(format!("tensor {name:?} has data_offsets [{begin}, {end}] outside the {data_len} bytes of data"));
    }
    let numel = checked_numel(&shape).map_err(|e| format!("tensor {name:?}: {}", e.message()))?;
    let size = numel.checked_mul(dtype.size()).ok_or(format!("tensor {name:?}: size overflows"))?;
    if (end - begin) as usize != size {
        return Err(format!(
            "tensor {name:?} of dtype {dtype_name} and shape {shape:?} needs {size} bytes but data_offsets span {}",
            end - begin
        ));
    }
    Ok(Entry { dtype, shape, begin: begin as usize, end: end as usize })
}

#[derive(Debug, Clone, Copy)]
enum Dtype {
    F64,
    F32,
    F16,
    Bf16,
    I64,
    I32,
    I16,
    I8,
    U8,
    Bool,
}

impl Dtype {
    fn parse(s: &str) -> Option<Dtype> {
        Some(match s {
            "F64" => Dtype::F64,
            "F32" => Dtype::F32,
            "F16" => Dtype::F16,
            "BF16" => Dtype::Bf16,
            "I64" => Dtype::I64,
            "I32" => Dtype::I32,
            "I16" => Dtype::I16,
            "I8" => Dtype::I8,
            "U8" => Dtype::U8,
            "BOOL" => Dtype::Bool,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            Dtype::F64 | Dtype::I64 => 8,
            Dtype::F32 | Dtype::I32 => 4,
            Dtype::F16 | Dtype::Bf16 | Dtype::I16 => 2,
            Dtype::I8 | Dtype::U8 | Dtype::Bool => 1,
        }
    }

    /// Little-endian elements to `f32`.
    fn to_f32(self, bytes: &[u8]) -> Vec<f32> {
        let chunks = bytes.chunks_exact(self.size());
        match self {
            Dtype::F64 => chunks.map(|c| f64::from_le_bytes(c.try_into().unwrap()) as f32).collect(),
            Dtype::F32 => chunks.map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect(),
            Dtype::F16 => chunks.map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]]))).collect(),
            Dtype::Bf16 => chunks.map(|c| f32::from_bits((u16::from_le_bytes([c[0], c[1]]) as u32) << 16)).collect(),
            Dtype::I64 => chunks.map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f32).collect(),
            Dtype::I32 => chunks.map(|c| i32::from_le_bytes(c.try_into().unwrap()) as f32).collect(),
            Dtype::I16 => chunks.map(|c| i16::from_le_bytes([c[0], c[1]]) as f32).collect(),
            Dtype::I8 => chunks.map(|c| c[0] as i8 as f32).collect(),
            Dtype::U8 => chunks.map(|c| c[0] as f32).collect(),
            Dtype::Bool => chunks.map(|c| if c[0] != 0 { 1.0 } else { 0.0 }).collect(),
        }
    }
}

/// IEEE 754 half precision to single: sign, 5-bit exponent (bias 15), 10-bit fraction.
fn f16_to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = ((h >> 10) & 0x1f) as i32;
    let fraction = (h & 0x3ff) as f32;
    sign * match exponent {
        0 => fraction * 2f32.powi(-24),
        31 if fraction == 0.0 => f32::INFINITY,
        31 => f32::NAN,
        e => (1.0 + fraction / 1024.0) * 2f32.powi(e - 15),
    }
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to a temporary file next to `path`, flushes it to disk, runs
/// `before_rename` (a test hook that can simulate a crash), then renames it over `path`.
/// On any failure the temporary file is removed and `path` is untouched.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8], before_rename: impl FnOnce() -> Result<()>) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let file_name = path.file_name().ok_or_else(|| Error::Io(format!("{}: not a file path", path.display())))?;
    let temp: PathBuf = dir.join(format!(
        ".{}.tmp-{}-{}",
        file_name.to_string_lossy(),
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        Ok::<(), std::io::Error>(())
    })()
    .map_err(|e| Error::Io(format!("{}: {e}", temp.display())))
    .and_then(|()| before_rename())
    .and_then(|()| std::fs::rename(&temp, path).map_err(|e| Error::Io(format!("{}: {e}", path.display()))));
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_state() -> StateDict {
        vec![
            ("a.weight".into(), Tensor::from_vec(vec![1.0, -2.5, 3.25, 0.0, 5.0, -6.0], &[2, 3]).unwrap()),
            ("a.bias".into(), Tensor::from_vec(vec![0.5], &[1]).unwrap()),
            ("scalar".into(), Tensor::scalar(7.0)),
        ]
    }

    #[test]
    fn round_trip_is_bit_exact() {
        let state = sample_state();
        let (back, _) = decode(&encode(&state, &BTreeMap::new()).unwrap()).unwrap();
        assert_eq!(back.len(), 3);
        for ((n1, t1), (n2, t2)) in state.iter().zip(&back) {
            assert_eq!(n1, n2);
            assert_eq!(t1.shape(), t2.shape());
            assert_eq!(t1.to_vec(), t2.to_vec());
        }
    }

    #[test]
    fn header_is_aligned_and_data_follows() {
        let bytes = encode(&sample_state(), &BTreeMap::from([("format".into(), "pt".into())])).unwrap();
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        assert_eq!(n % 8, 0);
        assert_eq!(bytes.len(), 8 + n + 4 * 8);
        let (_, meta) = decode(&bytes).unwrap();
        assert_eq!(meta["format"], "pt");
    }

    #[test]
    fn malformed_files_are_errors() {
        let good = encode(&sample_state(), &BTreeMap::new()).unwrap();
        assert!(decode(&good[..5]).unwrap_err().contains("too short"));
        assert!(decode(&good[..good.len() - 4]).unwrap_err().contains("outside"));
        let mut lying = good.clone();
        lying[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(decode(&lying).unwrap_err().contains("header length"));
        let mut extra = good.clone();
        extra.extend([0u8; 4]);
        assert!(decode(&extra).unwrap_err().contains("cover"));
    }

    #[test]
    fn half_precision_values() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert!(f16_to_f32(0x7c00).is_infinite());
    }

    #[test]
    fn a_failed_save_leaves_the_previous_checkpoint() {
        let dir = std::env::temp_dir().join(format!("tapegrad_atomic_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("model.safetensors");
        save(&sample_state(), &path).unwrap();
        let before = std::fs::read(&path).unwrap();
        let other: StateDict = vec![("x".into(), Tensor::ones(&[100]))];
        // Crash between writing the temporary file and renaming it.
        let crashed = write_atomically(&path, &encode(&other, &BTreeMap::new()).unwrap(), || {
            Err(Error::Io("simulated crash".into()))
        });
        assert!(crashed.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), before, "the old checkpoint must survive");
        let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok()).collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
        assert_eq!(load(&path).unwrap().len(), 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
