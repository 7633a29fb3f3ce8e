//! The IDX format of (Fashion-)MNIST: a 4-byte magic (two zero bytes, an element type, the
//! number of dimensions), one big-endian `u32` per dimension, then the elements in row-major
//! order. kas reads unsigned-byte IDX files (type `0x08`), gzip-compressed or raw.

use super::catalog::corrupt;
use crate::Result;
use flate2::read::MultiGzDecoder;
use std::io::Read;
use std::path::Path;

/// The element type code of unsigned bytes, the only one kas reads.
pub const IDX_U8: u8 = 0x08;

/// A parsed unsigned-byte IDX array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idx {
    /// The dimensions, outermost first (e.g. `[60000, 28, 28]`).
    pub dims: Vec<usize>,
    /// The elements, row-major; exactly the product of `dims` of them.
    pub data: Vec<u8>,
}

/// Parses an unsigned-byte IDX array from `bytes`, validating the magic, the number of
/// dimensions (1 to 4, none zero) and that the data is exactly as long as the dimensions say.
/// `file` names the source in errors.
pub fn parse_idx(mut bytes: Vec<u8>, file: &Path) -> Result<Idx> {
    if bytes.len() < 4 {
        return Err(corrupt(
            file,
            format!("truncated IDX header ({} bytes)", bytes.len()),
        ));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(corrupt(
            file,
            format!(
                "bad IDX magic {:02x}{:02x}{:02x}{:02x} (expected 0000 then type and rank)",
                bytes[0], bytes[1], bytes[2], bytes[3]
            ),
        ));
    }
    if bytes[2] != IDX_U8 {
        return Err(corrupt(
            file,
            format!(
                "IDX element type 0x{:02x} is not unsigned byte (0x08)",
                bytes[2]
            ),
        ));
    }
    let rank = bytes[3] as usize;
    if !(1..=4).contains(&rank) {
        return Err(corrupt(
            file,
            format!("IDX rank {rank} is not between 1 and 4"),
        ));
    }
    let header = 4 + 4 * rank;
    if bytes.len() < header {
        return Err(corrupt(
            file,
            format!(
                "truncated IDX header ({} bytes, rank {rank} needs {header})",
                bytes.len()
            ),
        ));
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    if dims.contains(&0) {
        return Err(corrupt(
            file,
            format!("IDX dimensions {dims:?} contain a zero"),
        ));
    }
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| corrupt(file, format!("IDX dimensions {dims:?} overflow")))?;
    let found = bytes.len() - header;
    if found < expected {
        return Err(corrupt(
            file,
            format!("truncated: dimensions {dims:?} need {expected} data bytes, found {found}"),
        ));
    }
    if found > expected {
        return Err(corrupt(
            file,
            format!(
                "{} trailing bytes after the {expected} data bytes of dimensions {dims:?}",
                found - expected
            ),
        ));
    }
    bytes.drain(..header);
    Ok(Idx { dims, data: bytes })
}

/// Reads and parses an IDX file; a name ending in `.gz` is decompressed first.
pub fn read_idx(path: &Path) -> Result<Idx> {
    let file =
        std::fs::File::open(path).map_err(|e| corrupt(path, format!("cannot open it ({e})")))?;
    let mut bytes = Vec::new();
    let gz = path.extension().is_some_and(|e| e == "gz");
    let result = if gz {
        MultiGzDecoder::new(std::io::BufReader::with_capacity(1 << 16, file))
            .read_to_end(&mut bytes)
    } else {
        std::io::BufReader::new(file).read_to_end(&mut bytes)
    };
    result.map_err(|e| {
        let what = if gz { "bad gzip data" } else { "read error" };
        corrupt(path, format!("{what} ({e})"))
    })?;
    parse_idx(bytes, path)
}

/// Encodes an unsigned-byte IDX array (the inverse of [`parse_idx`]); for tests and tools.
pub fn encode_idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, IDX_U8, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}
