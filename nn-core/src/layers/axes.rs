//! Sets of a tensor's axes, as the normalizations that take several name them (Keras's `axis`
//! of LayerNormalization, UnitNormalization, RMSNormalization and Normalization): a mask with
//! bit `k` for the `k`-th axis from the end (bit 0 the last), so that a layer's default, the
//! last axis, is `1` at every rank, and `axis = None` is `0`.
//!
//! The named axes hold the values a layer takes together (a row it normalizes, a channel's
//! statistics); their positions in the tensor are the [`rows`] of the other axes.

/// The rank's axis `axis` (0-based from the front) as a bit of a mask.
#[cfg(test)]
const fn bit(rank: usize, axis: usize) -> usize {
    1 << (rank - 1 - axis)
}

/// Whether `mask` names only axes `shape` has.
pub(crate) const fn fits(shape: &[usize], mask: usize) -> bool {
    shape.len() >= usize::BITS as usize || mask >> shape.len() == 0
}

/// The number of values the named axes hold together: the product of their sizes.
pub(crate) const fn size(shape: &[usize], mask: usize) -> usize {
    let (mut n, mut k) = (1, 0);
    while k < shape.len() {
        if mask >> k & 1 == 1 {
            n *= shape[shape.len() - 1 - k];
        }
        k += 1;
    }
    n
}

/// The named axes' sizes, front to back, in the first places of five, and how many.
pub(crate) const fn dims(shape: &[usize], mask: usize) -> ([usize; 5], usize) {
    let (mut out, mut n, mut axis) = ([0; 5], 0, 0);
    while axis < shape.len() {
        if mask >> (shape.len() - 1 - axis) & 1 == 1 && n < 5 {
            out[n] = shape[axis];
            n += 1;
        }
        axis += 1;
    }
    (out, n)
}

/// Whether the named axes are the last ones (or none): their values are runs in memory.
pub(crate) const fn trailing(mask: usize) -> bool {
    mask & mask.wrapping_add(1) == 0
}

/// The positions in a tensor of `shape` of the values each position of the other axes takes
/// together: one iterator per position of the other axes (in memory order), each over the
/// named axes' values in row-major order.
#[inline(always)]
pub(crate) fn rows(
    shape: &'static [usize],
    mask: usize,
) -> impl Iterator<Item = impl Iterator<Item = usize> + Clone> {
    let c = size(shape, mask);
    let len: usize = shape.iter().product();
    let contiguous = trailing(mask);
    (0..len / c.max(1)).map(move |r| {
        // The row's first position: `r` spread over the other axes, the last one fastest.
        let base = if contiguous { r * c } else { spread(shape, !mask, r) };
        (0..c).map(move |j| if contiguous { base + j } else { base + spread(shape, mask, j) })
    })
}

/// Index `i` of the axes `mask` names (row-major over them, the last fastest) as a position in
/// a tensor of `shape`, the other axes at 0.
#[inline(always)]
fn spread(shape: &[usize], mask: usize, mut i: usize) -> usize {
    let (mut at, mut stride) = (0, 1);
    for (k, &n) in shape.iter().rev().enumerate() {
        if mask >> k & 1 == 1 {
            at += i % n.max(1) * stride;
            i /= n.max(1);
        }
        stride *= n;
    }
    at
}

/// The index among the named axes' values (row-major over them) of position `p` of a tensor of
/// `shape`: a value's channel.
#[inline(always)]
pub(crate) fn index(shape: &[usize], mask: usize, mut p: usize) -> usize {
    if trailing(mask) {
        return p % size(shape, mask).max(1);
    }
    let (mut at, mut stride) = (0, 1);
    for (k, &n) in shape.iter().rev().enumerate() {
        let n = n.max(1);
        if mask >> k & 1 == 1 {
            at += p % n * stride;
            stride *= n;
        }
        p /= n;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_walk_the_named_axes_for_each_position_of_the_others() {
        // (2, 3, 2) over axes 0 and 2 (Keras's (1, 3)): for each of the 3 middle positions, the
        // 4 values at (a, b, c), a and c varying, c fastest.
        const SHAPE: &[usize] = &[2, 3, 2];
        let mask = bit(3, 0) | bit(3, 2);
        assert_eq!((size(SHAPE, mask), dims(SHAPE, mask)), (4, ([2, 2, 0, 0, 0], 2)));
        let mut all = rows(SHAPE, mask);
        for want in [[0, 1, 6, 7], [2, 3, 8, 9], [4, 5, 10, 11]] {
            assert!(all.next().unwrap().eq(want));
        }
        assert!(all.next().is_none());
        // Position 9 is (1, 1, 1): value 3 of its row; position 6, (1, 0, 0): value 2.
        assert_eq!((index(SHAPE, mask, 9), index(SHAPE, mask, 6), index(SHAPE, mask, 3)), (3, 2, 1));
        // The last axis: runs of 2.
        assert!(rows(SHAPE, 1).nth(1).unwrap().eq([2, 3]));
        assert!(trailing(0b11) && trailing(1) && trailing(0) && !trailing(0b10) && !trailing(0b101));
    }
}
