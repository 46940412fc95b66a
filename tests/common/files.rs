//! Helpers of the file-loader fuzz tests (fuzz_loaders, fuzz_optimizer_state): the
//! largest-allocation counter, scratch files, corruptions of real files, and the
//! safetensors oracle. Each of those binaries installs [`PeakAllocator`] as its global
//! allocator and includes this file with `#[path]`.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Read;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;
use serde_json::{Map, Value};

use crate::common::catch_quietly;

// ----- the largest allocation on this thread ---------------------------------------------------

pub struct PeakAllocator;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn record(size: usize) {
    let _ = TRACKING.try_with(|tracking| {
        if tracking.get() {
            let _ = PEAK.try_with(|peak| peak.set(peak.get().max(size)));
        }
    });
}

unsafe impl GlobalAlloc for PeakAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Runs a loader on a file of `file_len` bytes: fails the test on a panic, or when one
/// allocation exceeds `limit` bytes; returns the loader's result.
pub fn run_loader<T>(what: &str, limit: usize, f: impl FnOnce() -> tapegrad::Result<T>) -> tapegrad::Result<T> {
    PEAK.with(|p| p.set(0));
    TRACKING.with(|t| t.set(true));
    let result = catch_quietly(f);
    TRACKING.with(|t| t.set(false));
    let peak = PEAK.with(Cell::get);
    assert!(peak <= limit, "{what}: one allocation of {peak} bytes, more than the {limit} the file can justify");
    result.unwrap_or_else(|message| panic!("{what}: the loader panicked instead of returning Err: {message}"))
}

/// What a file of `len` bytes can justify: its bytes read, converted to `f32` (4 bytes per
/// 1-byte element), plus 1 MiB for bookkeeping.
pub fn plain_limit(len: usize) -> usize {
    16 * len + (1 << 20)
}

/// A gzip file can justify its decompressed size; deflate expands at most 1032-fold.
pub fn gzip_limit(len: usize) -> usize {
    2 * 1032 * len + (1 << 20)
}

// ----- files -------------------------------------------------------------------------------------

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn gunzip(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).ok().map(|_| out)
}

/// A shipped IDX file: (name, gzipped bytes, raw bytes).
pub type IdxFile = (String, Vec<u8>, Vec<u8>);

/// The shipped IDX files.
pub fn idx_files() -> &'static [IdxFile] {
    static FILES: OnceLock<Vec<IdxFile>> = OnceLock::new();
    FILES.get_or_init(|| {
        ["mnist-5k/t10k-labels-idx1-ubyte", "mnist-5k/t10k-images-idx3-ubyte", "digits/t10k-images-idx3-ubyte"]
            .iter()
            .map(|name| {
                let gz = std::fs::read(root().join("data").join(format!("{name}.gz"))).unwrap();
                let raw = gunzip(&gz).unwrap();
                (name.to_string(), gz, raw)
            })
            .collect()
    })
}

/// A fresh path in a scratch directory of this process.
pub fn scratch(name: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!("tapegrad_fuzz_loaders_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{}-{name}", COUNTER.fetch_add(1, Ordering::Relaxed)))
}

// ----- corruptions -------------------------------------------------------------------------------

/// One way of damaging a file. Positions are fractions of the length (in 1/65536ths) so one
/// strategy fits files of any size; `header` puts bit flips in the first 32 bytes.
#[derive(Debug, Clone)]
pub enum Corruption {
    Truncate(u16),
    FlipBits {
        header: bool,
        flips: Vec<(u16, u8)>,
    },
    /// Overwrite 4 big-endian bytes (an IDX dim) at byte `4 + 4·dim` with `value`.
    LyingDim {
        dim: u8,
        value: u32,
    },
    /// Overwrite byte 3 (the IDX dim count).
    LyingNdim(u8),
    /// Overwrite the first 8 bytes (the safetensors header length) with `value`.
    LyingHeaderLength(u64),
    Append(Vec<u8>),
}

pub fn corruption() -> impl Strategy<Value = Corruption> {
    let size = prop_oneof![Just(0u32), Just(1), Just(u32::MAX), Just(u32::MAX / 2), 2u32..100_000, any::<u32>()];
    let header_length = prop_oneof![Just(u64::MAX), Just(1u64 << 62), Just(100_000_001), 0u64..400, any::<u64>()];
    prop_oneof![
        any::<u16>().prop_map(Corruption::Truncate),
        (any::<bool>(), prop::collection::vec((any::<u16>(), 0u8..8), 1..6))
            .prop_map(|(header, flips)| Corruption::FlipBits { header, flips }),
        (0u8..4, size).prop_map(|(dim, value)| Corruption::LyingDim { dim, value }),
        any::<u8>().prop_map(Corruption::LyingNdim),
        header_length.prop_map(Corruption::LyingHeaderLength),
        prop::collection::vec(any::<u8>(), 1..16).prop_map(Corruption::Append),
    ]
}

pub fn position(fraction: u16, len: usize) -> usize {
    (fraction as usize * len) >> 16
}

pub fn corrupt(bytes: &[u8], corruption: &Corruption) -> Vec<u8> {
    let mut out = bytes.to_vec();
    match corruption {
        Corruption::Truncate(at) => out.truncate(position(*at, bytes.len())),
        Corruption::FlipBits { header, flips } => {
            let span = if *header { bytes.len().min(32) } else { bytes.len() };
            for &(at, bit) in flips {
                out[position(at, span)] ^= 1 << bit;
            }
        }
        Corruption::LyingDim { dim, value } => {
            let at = 4 + 4 * *dim as usize;
            if at + 4 <= out.len() {
                out[at..at + 4].copy_from_slice(&value.to_be_bytes());
            }
        }
        Corruption::LyingNdim(n) => out[3] = *n,
        Corruption::LyingHeaderLength(n) => out[..8].copy_from_slice(&n.to_le_bytes()),
        Corruption::Append(extra) => out.extend_from_slice(extra),
    }
    out
}

// ----- safetensors -------------------------------------------------------------------------------

/// One tensor as the oracle reads it: name, shape, and the `f32` values for an F32 entry.
pub type OracleTensor = (String, Vec<usize>, Option<Vec<f32>>);

/// The safetensors layout and the checks of docs/design.md: an 8-byte little-endian header
/// length `n` (at most 100 MB and within the file), `n` bytes of a JSON object; each entry
/// other than `__metadata__` (an object of strings) has a known dtype, a shape of sizes
/// and `data_offsets [begin, end]` inside the data, spanning exactly dtype size × ∏shape
/// bytes (a shape whose byte size overflows `isize` is invalid); together the entries cover
/// the data exactly.
pub fn safetensors_oracle(bytes: &[u8]) -> Option<Vec<OracleTensor>> {
    let n = u64::from_le_bytes(bytes.get(..8)?.try_into().unwrap());
    if n > 100_000_000 || n > (bytes.len() - 8) as u64 {
        return None;
    }
    let header: Map<String, Value> = match serde_json::from_slice(&bytes[8..8 + n as usize]) {
        Ok(Value::Object(map)) => map,
        _ => return None,
    };
    let data = &bytes[8 + n as usize..];
    let mut spans = Vec::new();
    let mut tensors = Vec::new();
    for (name, info) in &header {
        if name == "__metadata__" {
            if !info.as_object()?.values().all(Value::is_string) {
                return None;
            }
            continue;
        }
        let size = match info.get("dtype")?.as_str()? {
            "F64" | "I64" => 8,
            "F32" | "I32" => 4,
            "F16" | "BF16" | "I16" => 2,
            "I8" | "U8" | "BOOL" => 1,
            _ => return None,
        };
        let shape: Vec<usize> =
            info.get("shape")?.as_array()?.iter().map(|d| d.as_u64().map(|d| d as usize)).collect::<Option<_>>()?;
        let offsets = info.get("data_offsets")?.as_array()?;
        if offsets.len() != 2 {
            return None;
        }
        let (begin, end) = (offsets[0].as_u64()?, offsets[1].as_u64()?);
        let nonzero = shape.iter().filter(|&&d| d != 0).try_fold(1usize, |n, &d| n.checked_mul(d))?;
        if nonzero.checked_mul(4)? > isize::MAX as usize {
            return None;
        }
        let bytes_needed = shape.iter().product::<usize>() * size;
        if begin > end || end > data.len() as u64 || (end - begin) as usize != bytes_needed {
            return None;
        }
        spans.push((begin as usize, end as usize));
        let values = (info["dtype"] == "F32").then(|| {
            data[begin as usize..end as usize].chunks(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
        });
        tensors.push((name.clone(), shape, values));
    }
    spans.sort();
    let mut covered = 0;
    for (begin, end) in spans {
        if begin != covered {
            return None;
        }
        covered = end;
    }
    (covered == data.len()).then_some(tensors)
}

pub fn lie_in_header(bytes: &[u8], index: usize, value: &str) -> Vec<u8> {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&bytes[8..8 + n]).unwrap();
    let mut runs = Vec::new();
    let mut start = None;
    for (i, c) in header.char_indices().chain([(header.len(), ' ')]) {
        match (c.is_ascii_digit(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                runs.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    let (s, e) = runs[index % runs.len()];
    let edited = format!("{}{value}{}", &header[..s], &header[e..]);
    let mut out = (edited.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(edited.as_bytes());
    out.extend_from_slice(&bytes[8 + n..]);
    out
}

pub fn lying_number() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(u64::MAX.to_string()),
        Just("18446744073709551616".to_string()), // u64::MAX + 1
        Just((1u64 << 62).to_string()),
        Just("0".to_string()),
        Just("-1".to_string()),
        Just("1.5".to_string()),
        (0u64..1_000_000).prop_map(|v| v.to_string()),
    ]
}
