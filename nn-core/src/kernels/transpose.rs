//! Transposes of a product's operands: a kernel's `wᵀ` for the input gradient, and a narrow
//! layer's weight gradient computed transposed and added back into place.
//!
//! One side of a transpose is always strided. Element by element, with the strided side's
//! bounds checked, the 640 values of a 10-class Dense layer's kernel took 0.2 to 0.3 µs, more
//! than a third of the product they served. The `f32` kernel moves 8 × 8 blocks through eight
//! 256-bit registers (unpacks, shuffles and lane swaps) and leaves only the edges to the loop.

use super::cpu::Level;

/// `dst[c · ld_dst + r] = src[r · ld_src + c]` (or `+=` it, with `add`) for `r < rows` and
/// `c < cols`, with the kernel for `level` where `T` has one, else in a loop. Slices too short
/// for the shape leave `dst` untouched.
///
/// ```
/// use nn_core::kernels::{cpu, transpose::transpose};
///
/// // A 2 × 3 matrix, row-major, into its 3 × 2 transpose.
/// let mut t = [0.0f32; 6];
/// transpose(cpu::level(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3, 2, 3, &mut t, 2, false);
/// assert_eq!(t, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
/// ```
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn transpose<T: super::Element>(
    level: Level,
    src: &[T],
    ld_src: usize,
    rows: usize,
    cols: usize,
    dst: &mut [T],
    ld_dst: usize,
    add: bool,
) {
    let extent = |outer: usize, ld: usize, inner: usize| {
        outer.checked_sub(1).and_then(|o| o.checked_mul(ld)).and_then(|o| o.checked_add(inner))
    };
    if rows == 0 || cols == 0 || ld_src < cols || ld_dst < rows {
        return;
    }
    if extent(rows, ld_src, cols).is_none_or(|e| e > src.len())
        || extent(cols, ld_dst, rows).is_none_or(|e| e > dst.len())
    {
        return;
    }
    let shape = Shape { ld_src, rows, cols, ld_dst, add };
    if !T::transpose(level, src, dst, &shape) {
        edges(src, dst, &shape, 0, 0);
    }
}

/// A [`transpose`]'s shape, which it checked against its slices before a kernel sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// How far apart the rows of the source start.
    pub ld_src: usize,
    /// Rows of the source (columns of the destination).
    pub rows: usize,
    /// Columns of the source (rows of the destination).
    pub cols: usize,
    /// How far apart the rows of the destination start.
    pub ld_dst: usize,
    /// Whether the transpose adds into the destination rather than overwriting it.
    pub add: bool,
}

/// The loop over the values a kernel's blocks left: rows from `r0` (every column) and, above
/// them, columns from `c0`.
#[inline(always)]
fn edges<T: super::Element>(src: &[T], dst: &mut [T], s: &Shape, r0: usize, c0: usize) {
    let mut one = |r: usize, c: usize| {
        let (from, to) = (r * s.ld_src + c, c * s.ld_dst + r);
        if let (Some(&v), Some(d)) = (src.get(from), dst.get_mut(to)) {
            *d = if s.add { *d + v } else { v };
        }
    };
    for r in 0..r0 {
        for c in c0..s.cols {
            one(r, c);
        }
    }
    for r in r0..s.rows {
        for c in 0..s.cols {
            one(r, c);
        }
    }
}

/// [`transpose`] of `f32` with the x86-64 kernel (AVX2's 256-bit registers, at either level)
/// where the CPU has one: `false`, touching nothing, otherwise. The caller checked the shape.
#[inline(always)]
pub(crate) fn transpose_f32(level: Level, src: &[f32], dst: &mut [f32], s: &Shape) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        if level >= Level::Avx2 && super::cpu::supports(Level::Avx2) {
            let (r8, c8) = (s.rows / 8 * 8, s.cols / 8 * 8);
            // SAFETY: the CPU has AVX2; `transpose` checked that every value of the shape lies
            // within the slices, and the blocks cover rows `..r8` and columns `..c8` of it.
            unsafe { x86::blocks(src.as_ptr(), dst.as_mut_ptr(), s, r8, c8) };
            edges(src, dst, s, r8, c8);
            return true;
        }
    }
    let _ = (level, src, dst, s);
    false
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod x86 {
    use super::Shape;
    use core::arch::x86_64::*;

    /// Eight registers of eight values as the 8 × 8 block they hold, transposed: lane `i` of
    /// `out[j]` is lane `j` of `r[i]`.
    ///
    /// # Safety
    /// AVX must be available.
    #[inline(always)]
    pub(crate) unsafe fn eight(r: [__m256; 8]) -> [__m256; 8] {
        // SAFETY: the caller runs under AVX.
        unsafe {
            // Pairs of rows interleaved, then pairs of pairs, then the halves swapped.
            let t = [
                _mm256_unpacklo_ps(r[0], r[1]),
                _mm256_unpackhi_ps(r[0], r[1]),
                _mm256_unpacklo_ps(r[2], r[3]),
                _mm256_unpackhi_ps(r[2], r[3]),
                _mm256_unpacklo_ps(r[4], r[5]),
                _mm256_unpackhi_ps(r[4], r[5]),
                _mm256_unpacklo_ps(r[6], r[7]),
                _mm256_unpackhi_ps(r[6], r[7]),
            ];
            let u = [
                _mm256_shuffle_ps::<0x44>(t[0], t[2]),
                _mm256_shuffle_ps::<0xEE>(t[0], t[2]),
                _mm256_shuffle_ps::<0x44>(t[1], t[3]),
                _mm256_shuffle_ps::<0xEE>(t[1], t[3]),
                _mm256_shuffle_ps::<0x44>(t[4], t[6]),
                _mm256_shuffle_ps::<0xEE>(t[4], t[6]),
                _mm256_shuffle_ps::<0x44>(t[5], t[7]),
                _mm256_shuffle_ps::<0xEE>(t[5], t[7]),
            ];
            [
                _mm256_permute2f128_ps::<0x20>(u[0], u[4]),
                _mm256_permute2f128_ps::<0x20>(u[1], u[5]),
                _mm256_permute2f128_ps::<0x20>(u[2], u[6]),
                _mm256_permute2f128_ps::<0x20>(u[3], u[7]),
                _mm256_permute2f128_ps::<0x31>(u[0], u[4]),
                _mm256_permute2f128_ps::<0x31>(u[1], u[5]),
                _mm256_permute2f128_ps::<0x31>(u[2], u[6]),
                _mm256_permute2f128_ps::<0x31>(u[3], u[7]),
            ]
        }
    }

    /// The 8 × 8 blocks of rows `..r8` and columns `..c8`.
    ///
    /// # Safety
    /// AVX2 must be available, and the shape's values lie within `src` and `dst`.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn blocks(src: *const f32, dst: *mut f32, s: &Shape, r8: usize, c8: usize) {
        for r0 in (0..r8).step_by(8) {
            for c0 in (0..c8).step_by(8) {
                // SAFETY: the block's rows `r0..r0 + 8` and columns `c0..c0 + 8` lie within
                // the shape, so within both slices (the caller's contract).
                unsafe {
                    // A loop, not `array::map`: a closure does not inherit the target feature.
                    let mut r = [_mm256_setzero_ps(); 8];
                    for (i, v) in r.iter_mut().enumerate() {
                        *v = _mm256_loadu_ps(src.add((r0 + i) * s.ld_src + c0));
                    }
                    // `out[j]` is column `c0 + j` of the block.
                    let out = eight(r);
                    for (j, v) in out.into_iter().enumerate() {
                        let p = dst.add((c0 + j) * s.ld_dst + r0);
                        let v = if s.add { _mm256_add_ps(_mm256_loadu_ps(p), v) } else { v };
                        _mm256_storeu_ps(p, v);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::cpu;
    use alloc::vec::Vec;

    /// Every level against the definition, setting and adding, over shapes with and without
    /// whole blocks, padded strides on both sides; nothing outside the shape written.
    #[test]
    fn every_level_transposes_as_defined() {
        for level in [Level::Portable, Level::Avx2, Level::Avx512] {
            if !cpu::supports(level) {
                continue;
            }
            for (rows, cols) in [(1, 1), (3, 5), (8, 8), (10, 64), (64, 10), (17, 9), (16, 24)] {
                for (pad_src, pad_dst) in [(0, 0), (3, 1)] {
                    let (ld_src, ld_dst) = (cols + pad_src, rows + pad_dst);
                    let src: Vec<f32> = (0..rows * ld_src).map(|i| i as f32).collect();
                    for add in [false, true] {
                        let mut dst: Vec<f32> = (0..cols * ld_dst).map(|i| -(i as f32) - 0.5).collect();
                        let mut want = dst.clone();
                        for r in 0..rows {
                            for c in 0..cols {
                                let v = src[r * ld_src + c];
                                let d = &mut want[c * ld_dst + r];
                                *d = if add { *d + v } else { v };
                            }
                        }
                        transpose(level, &src, ld_src, rows, cols, &mut dst, ld_dst, add);
                        assert_eq!(dst, want, "{level:?} {rows}x{cols} pads {pad_src},{pad_dst} add {add}");
                    }
                }
            }
        }
    }

    #[test]
    fn slices_too_short_for_the_shape_are_left_alone() {
        let mut dst = [0.0f32; 64];
        transpose(Level::Avx2, &[1.0f32; 63], 8, 8, 8, &mut dst, 8, false);
        transpose(Level::Avx2, &[1.0f32; 64], 8, 8, 8, &mut dst[..63], 8, false);
        transpose(Level::Avx2, &[1.0f32; 64], 4, 8, 8, &mut dst, 8, false);
        assert_eq!(dst, [0.0; 64]);
    }
}
