//! A raw weight format simple enough for a `const fn` to read, so that weights can be compiled
//! into a `static` model with `include_bytes!` and nothing is parsed at run time.
//!
//! Layout, all little-endian:
//!
//! | offset | size | content |
//! |---|---|---|
//! | 0 | 4 | magic `NNW1` |
//! | 4 | 1 | bytes per value: 4 (`f32`) or 8 (`f64`) |
//! | 5 | 3 | zero |
//! | 8 | 8 | number of values, `u64` |
//! | 16 | count × width | the values, in `Model::load_params` order (Keras's `get_weights()`, each tensor row-major) |
//!
//! Write it with `Model::to_bytes`; read it with `Model::load_bytes` at run time, or in a
//! `const` with the `from_bytes` constant function that `sequential!`/`functional!` give `f32` and
//! `f64` models, where a file that does not fit the model is a compile error.

use crate::Float;

/// Bytes before the first value.
pub const HEADER: usize = 16;
/// The format's magic number.
pub const MAGIC: [u8; 4] = *b"NNW1";

/// The header for `count` values of `width` bytes.
pub const fn header(count: usize, width: usize) -> [u8; HEADER] {
    let mut h = [0u8; HEADER];
    h[0] = MAGIC[0];
    h[1] = MAGIC[1];
    h[2] = MAGIC[2];
    h[3] = MAGIC[3];
    h[4] = width as u8;
    let count = (count as u64).to_le_bytes();
    let mut i = 0;
    while i < 8 {
        h[8 + i] = count[i];
        i += 1;
    }
    h
}

/// The bytes per value a file's header states, if it starts as the format does.
pub fn width(bytes: &[u8]) -> Option<usize> {
    match bytes {
        [m0, m1, m2, m3, w, ..] if [*m0, *m1, *m2, *m3] == MAGIC => Some(usize::from(*w)),
        _ => None,
    }
}

/// Why bytes are not a weight file for a model, as [`check`] finds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BytesError {
    /// Fewer bytes than a header, not starting with `NNW1`, or with its zero bytes (5 to 7) set.
    NotWeights,
    /// Values of another width than the model's element type.
    Width {
        /// The model's bytes per value.
        expected: usize,
        /// The file's.
        found: usize,
    },
    /// Another number of values than the model has, or a length that disagrees with the header.
    Count {
        /// The model's number of weights.
        expected: usize,
        /// The number the header states.
        found: u64,
    },
}

impl core::fmt::Display for BytesError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            BytesError::NotWeights => {
                f.write_str("not nn weight bytes (no `NNW1` header, or one of a later version)")
            }
            BytesError::Width { expected, found } => {
                write!(f, "values are {found} bytes wide, the model's are {expected}")
            }
            BytesError::Count { expected, found } => {
                write!(
                    f,
                    "the bytes hold {found} values (or are truncated), the model has {expected} weights"
                )
            }
        }
    }
}

impl core::error::Error for BytesError {}

/// Checks `bytes` holds a header for exactly `count` values of `width` bytes and the values.
pub const fn check(bytes: &[u8], count: usize, width: usize) -> Result<(), BytesError> {
    if bytes.len() < HEADER
        || bytes[0] != MAGIC[0]
        || bytes[1] != MAGIC[1]
        || bytes[2] != MAGIC[2]
        || bytes[3] != MAGIC[3]
        // Zero, as the layout says: a file setting them is of a later version than this reader.
        || bytes[5] != 0
        || bytes[6] != 0
        || bytes[7] != 0
    {
        return Err(BytesError::NotWeights);
    }
    if width == 0 || bytes[4] as usize != width {
        return Err(BytesError::Width { expected: width, found: bytes[4] as usize });
    }
    let found = u64::from_le_bytes([
        bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15],
    ]);
    // The header must state the model's count, and the body must hold exactly that many values.
    if found != count as u64
        || (bytes.len() - HEADER) / width != count
        || !(bytes.len() - HEADER).is_multiple_of(width)
    {
        return Err(BytesError::Count { expected: count, found });
    }
    Ok(())
}

/// [`check`] in a `const`: a mismatch stops compilation with a message.
pub const fn expect(bytes: &[u8], count: usize, width: usize) -> usize {
    match check(bytes, count, width) {
        Ok(()) => HEADER,
        Err(BytesError::NotWeights) => {
            panic!("nn: these bytes are not nn weights (no `NNW1` header, or one of a later version)")
        }
        Err(BytesError::Width { .. }) => {
            panic!("nn: the weight bytes are of another element type than the model")
        }
        Err(BytesError::Count { .. }) => {
            panic!("nn: the weight bytes hold another number of weights than the model")
        }
    }
}

/// Reads `dst.len()` values of the element type at `at` into `dst`, returning the offset after
/// them (pass nested arrays through `as_flattened_mut`). A `const fn`, for the macros'
/// `from_bytes`; the caller has checked the length.
pub const fn read<T: Float>(bytes: &[u8], mut at: usize, dst: &mut [T]) -> usize {
    let wide = core::mem::size_of::<T>() == 8;
    let mut i = 0;
    while i < dst.len() {
        let slot = (&raw mut dst[i]).cast::<u8>();
        if wide {
            let b = [
                bytes[at],
                bytes[at + 1],
                bytes[at + 2],
                bytes[at + 3],
                bytes[at + 4],
                bytes[at + 5],
                bytes[at + 6],
                bytes[at + 7],
            ];
            // SAFETY: `Float` is sealed to `f32` and `f64`, so an 8-byte `T` is an `f64`, and
            // `slot` points at `dst[i]`.
            unsafe { slot.cast::<f64>().write(f64::from_le_bytes(b)) };
            at += 8;
        } else {
            let b = [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
            // SAFETY: as above: a `T` that is not 8 bytes is an `f32`.
            unsafe { slot.cast::<f32>().write(f32::from_le_bytes(b)) };
            at += 4;
        }
        i += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_width_is_read_from_a_header_only() {
        assert_eq!(width(&header(3, 8)), Some(8));
        assert_eq!(width(&header(3, 4)), Some(4));
        assert_eq!(width(b"NNW"), None);
        assert_eq!(width(b"PK\x03\x04\x08"), None);
    }

    #[test]
    fn a_header_checks_out_and_anything_else_is_a_typed_error() {
        let mut file = [0u8; HEADER + 8];
        file[..HEADER].copy_from_slice(&header(2, 4));
        assert_eq!(check(&file, 2, 4), Ok(()));
        assert_eq!(check(&file, 3, 4), Err(BytesError::Count { expected: 3, found: 2 }));
        assert_eq!(check(&file, 1, 8), Err(BytesError::Width { expected: 8, found: 4 }));
        assert_eq!(check(&file[..HEADER + 7], 2, 4), Err(BytesError::Count { expected: 2, found: 2 }));
        assert_eq!(check(&file[..3], 2, 4), Err(BytesError::NotWeights));
        file[0] = b'X';
        assert_eq!(check(&file, 2, 4), Err(BytesError::NotWeights));
    }

    #[test]
    fn values_read_back_row_after_row() {
        let mut bytes = [0u8; 16];
        for (i, v) in [1.0f32, 2.0, 3.0, 4.0].iter().enumerate() {
            bytes[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
        }
        let mut dst = [[0.0f32; 2]; 2];
        assert_eq!(read(&bytes, 0, dst.as_flattened_mut()), 16);
        assert_eq!(dst, [[1.0, 2.0], [3.0, 4.0]]);
        let mut wide = [0.0f64; 2];
        let mut bytes = [0u8; 16];
        bytes[8..].copy_from_slice(&(-2.5f64).to_le_bytes());
        assert_eq!(read(&bytes, 0, &mut wide), 16);
        assert_eq!(wide, [0.0, -2.5]);
    }
}
