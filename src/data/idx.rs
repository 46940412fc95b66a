//! The IDX file format of MNIST: a big-endian header (two zero bytes, the element type,
//! the number of dims, then one u32 size per dim) followed by the elements.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// The contents of an unsigned-byte IDX file: its dims and its bytes (row-major). PyTorch:
/// the `uint8` tensor that torchvision's `read_sn3_pascalvincent_tensor` returns. Example on
/// [`read_idx`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// One size per dim, e.g. `[60000, 28, 28]`.
    pub shape: Vec<usize>,
    /// `∏shape` bytes.
    pub data: Vec<u8>,
}

/// Largest decompressed file accepted (1 GiB): full MNIST is 47 MB, and a compressed file
/// that expands without bound must not exhaust memory.
const MAX_DECOMPRESSED: u64 = 1 << 30;

/// Reads an IDX file of unsigned bytes (element type 0x08), gzipped (detected by the gzip
/// magic bytes) or not.
///
/// Every count in the header is checked against the file's actual length before anything
/// is allocated from it.
///
/// # Errors
/// [`Error::Io`] naming the file and the problem: unreadable, a bad gzip stream, a wrong
/// magic number, an unsupported element type, or a length that disagrees with the header.
///
/// PyTorch: `torchvision.datasets.mnist.read_sn3_pascalvincent_tensor(path)`.
///
/// ```
/// use tapegrad::data::read_idx;
/// // Header: 0, 0, type 0x08 (u8), 2 dims; sizes 2 and 3 (big-endian u32); then 6 bytes.
/// let bytes = [0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6];
/// let path = std::env::temp_dir().join(format!("read_idx_doc_{}.idx", std::process::id()));
/// std::fs::write(&path, bytes).unwrap();
/// let idx = read_idx(&path).unwrap();
/// assert_eq!((idx.shape, idx.data), (vec![2, 3], vec![1, 2, 3, 4, 5, 6]));
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn read_idx(path: &Path) -> Result<IdxArray> {
    let raw = std::fs::read(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(raw.as_slice())
            .take(MAX_DECOMPRESSED + 1)
            .read_to_end(&mut out)
            .map_err(|e| Error::Io(format!("{}: not a valid gzip stream: {e}", path.display())))?;
        if out.len() as u64 > MAX_DECOMPRESSED {
            return Err(Error::Io(format!("{}: decompresses to more than {MAX_DECOMPRESSED} bytes", path.display())));
        }
        out
    } else {
        raw
    };
    parse_idx(&bytes).map_err(|e| Error::Io(format!("{}: {e}", path.display())))
}

/// Parses IDX bytes (already decompressed).
pub(crate) fn parse_idx(bytes: &[u8]) -> std::result::Result<IdxArray, String> {
    if bytes.len() < 4 {
        return Err(format!("file too short for an IDX header ({} bytes)", bytes.len()));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(format!(
            "wrong magic number 0x{:02x}{:02x}{:02x}{:02x}: an IDX file starts with two zero bytes",
            bytes[0], bytes[1], bytes[2], bytes[3]
        ));
    }
    if bytes[2] != 0x08 {
        return Err(format!("unsupported IDX element type 0x{:02x}: expected 0x08 (unsigned byte)", bytes[2]));
    }
    let ndim = bytes[3] as usize;
    if ndim == 0 {
        return Err("IDX header declares 0 dimensions".into());
    }
    let header_len = 4 + 4 * ndim;
    if bytes.len() < header_len {
        return Err(format!("file too short for an IDX header with {ndim} dims ({} bytes)", bytes.len()));
    }
    let shape: Vec<usize> =
        bytes[4..header_len].chunks_exact(4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize).collect();
    let expected = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format!("header sizes {shape:?} overflow"))?;
    let actual = bytes.len() - header_len;
    if actual != expected {
        return Err(format!(
            "header declares shape {shape:?} ({expected} bytes of data) but the file holds {actual} bytes of data"
        ));
    }
    Ok(IdxArray { shape, data: bytes[header_len..].to_vec() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(magic: [u8; 4], dims: &[u32]) -> Vec<u8> {
        let mut v = magic.to_vec();
        for d in dims {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v
    }

    #[test]
    fn parses_a_small_file() {
        let mut bytes = header([0, 0, 8, 3], &[2, 2, 3]);
        bytes.extend(0..12u8);
        let idx = parse_idx(&bytes).unwrap();
        assert_eq!(idx.shape, vec![2, 2, 3]);
        assert_eq!(idx.data, (0..12).collect::<Vec<u8>>());
    }

    #[test]
    fn rejects_wrong_magic_type_and_lengths() {
        assert!(parse_idx(&[0, 0]).unwrap_err().contains("too short"));
        assert!(parse_idx(&header([1, 0, 8, 1], &[1])).unwrap_err().contains("wrong magic"));
        assert!(parse_idx(&header([0, 0, 0x0d, 1], &[1])).unwrap_err().contains("element type"));
        let mut lying = header([0, 0, 8, 1], &[5]);
        lying.extend([1, 2, 3]);
        assert!(parse_idx(&lying).unwrap_err().contains("holds 3 bytes"));
        // A huge declared size is rejected from the header alone, before any allocation.
        let huge = header([0, 0, 8, 3], &[u32::MAX, u32::MAX, u32::MAX]);
        assert!(parse_idx(&huge).is_err());
    }
}
