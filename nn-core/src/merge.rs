//! Keras's merging layers (`keras/src/layers/merging/`) as functions over tensors of any
//! rank (elementwise, or on the last axis for `Concatenate`).
//!
//! They hold no weights, so a model calls them directly on its locals: no copies of the inputs
//! into a layer-shaped argument. Operands are taken in order, as Keras folds them.
//!
//! ```
//! use nn_core::merge;
//! use nn_core::nalgebra::{Vector2, Vector3, Vector5};
//! let (a, b) = (Vector2::new(1.0f32, 5.0), Vector2::new(3.0, 2.0));
//! assert_eq!(merge::add([&a, &b]), Vector2::new(4.0, 7.0));
//! assert_eq!(merge::maximum([&a, &b]), Vector2::new(3.0, 5.0));
//! let c: Vector5<f32> = merge::concatenate(&[(a.as_slice(), 2), (Vector3::new(7.0, 8.0, 9.0).as_slice(), 3)]);
//! assert_eq!(c, Vector5::new(1.0, 5.0, 7.0, 8.0, 9.0));
//! ```

use crate::Float;
use crate::tensor::Tensor;
use nalgebra::SVector;

/// Folds `op` over the operands, left to right.
#[inline]
fn fold<X: Tensor, const K: usize>(xs: [&X; K], op: impl Fn(X::Scalar, X::Scalar) -> X::Scalar) -> X {
    let mut y = X::ZEROS;
    for (k, x) in xs.iter().enumerate() {
        if k == 0 {
            y = **x;
        } else {
            for (a, b) in y.as_mut_slice().iter_mut().zip(x.as_slice()) {
                *a = op(*a, *b);
            }
        }
    }
    y
}

/// `Add`: the elementwise sum.
#[inline]
pub fn add<X: Tensor, const K: usize>(xs: [&X; K]) -> X {
    fold(xs, |a, b| a + b)
}

/// `Subtract`: `a - b`.
#[inline]
pub fn subtract<X: Tensor>(a: &X, b: &X) -> X {
    fold([a, b], |a, b| a - b)
}

/// `Multiply`: the elementwise product.
#[inline]
pub fn multiply<X: Tensor, const K: usize>(xs: [&X; K]) -> X {
    fold(xs, |a, b| a * b)
}

/// `Average`: the elementwise sum divided by the number of operands, as Keras computes it.
#[inline]
pub fn average<X: Tensor, const K: usize>(xs: [&X; K]) -> X {
    let mut y = add(xs);
    let k = X::Scalar::of(K as f64);
    for v in y.as_mut_slice() {
        *v /= k;
    }
    y
}

/// `Maximum`: the elementwise maximum.
#[inline]
pub fn maximum<X: Tensor, const K: usize>(xs: [&X; K]) -> X {
    fold(xs, |a, b| if b > a { b } else { a })
}

/// `Minimum`: the elementwise minimum.
#[inline]
pub fn minimum<X: Tensor, const K: usize>(xs: [&X; K]) -> X {
    fold(xs, |a, b| if b < a { b } else { a })
}

/// `Concatenate`: each part is given as its elements and its row width, the values it holds from
/// the joined axis on (the size of its last axis for Keras's default `axis=-1`; all of it for
/// the first axis), and every row of the output is the parts' rows one after another.
///
/// The parts have as many rows as the output, which the macros check at compile time; called
/// by hand with parts that do not add up, it fills what fits and zeroes the rest.
#[inline]
pub fn concatenate<Y: Tensor>(parts: &[(&[Y::Scalar], usize)]) -> Y {
    let mut y = Y::ZEROS;
    let width: usize = parts.iter().map(|(_, w)| w).sum();
    for (r, row) in y.as_mut_slice().chunks_mut(width.max(1)).enumerate() {
        let mut rest = row;
        for (part, last) in parts {
            let from = part.get(r * last..(r + 1) * last).unwrap_or(&[]);
            let n = from.len().min(rest.len());
            let (head, tail) = core::mem::take(&mut rest).split_at_mut(n);
            head.copy_from_slice(&from[..n]);
            rest = tail;
        }
    }
    y
}

/// `Dot` on the feature axis: `a · b`, of the L2-normalised vectors when `normalize` is set.
///
/// Normalising follows Keras (`ops.nn._normalize`): `x * min(1 / sqrt(sum x²), 1e7)`, so an
/// all-zero vector stays zero instead of dividing by zero.
#[inline]
pub fn dot<T: Float, const N: usize>(a: &SVector<T, N>, b: &SVector<T, N>, normalize: bool) -> SVector<T, 1> {
    let mut d = a.dot(b);
    if normalize {
        let inv_norm = |x: &SVector<T, N>| {
            let inv = T::ONE / x.norm_squared().sqrt();
            // `!(inv < cap)` also catches the infinity of a zero vector.
            if inv < T::of(1e7) { inv } else { T::of(1e7) }
        };
        // Scale the sum rather than each vector: the same product, without copies.
        d = d * inv_norm(a) * inv_norm(b);
    }
    SVector::<T, 1>::from_array_storage(nalgebra::ArrayStorage([[d]]))
}

/// An elementwise merge, for operands of different shapes ([`broadcast`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elementwise {
    /// [`add`].
    Add,
    /// [`subtract`].
    Subtract,
    /// [`multiply`].
    Multiply,
    /// [`average`].
    Average,
    /// [`maximum`].
    Maximum,
    /// [`minimum`].
    Minimum,
}

impl Elementwise {
    /// The merge of `n` operand values `x(0)`, `x(1)`, ..., folded in order as the merges of
    /// operands of one shape fold them.
    #[inline]
    fn value<T: Float>(self, n: usize, x: impl Fn(usize) -> T) -> T {
        let fold = |op: fn(T, T) -> T| (1..n).fold(x(0), |a, j| op(a, x(j)));
        match self {
            Elementwise::Add => fold(|a, b| a + b),
            Elementwise::Subtract => x(0) - x(1),
            Elementwise::Multiply => fold(|a, b| a * b),
            Elementwise::Average => fold(|a, b| a + b) / T::of(n as f64),
            Elementwise::Maximum => fold(|a, b| if b > a { b } else { a }),
            Elementwise::Minimum => fold(|a, b| if b < a { b } else { a }),
        }
    }

    /// The derivative of [`Elementwise::value`] with respect to operand `k`: for the extrema,
    /// the share the fold gives it (half at each tie, as JAX's `maximum`).
    #[inline]
    fn share<T: Float>(self, k: usize, n: usize, x: impl Fn(usize) -> T) -> T {
        let one = |j: usize| if j == k { T::ONE } else { T::ZERO };
        match self {
            Elementwise::Add => T::ONE,
            Elementwise::Subtract => {
                if k == 0 {
                    T::ONE
                } else {
                    -T::ONE
                }
            }
            Elementwise::Average => T::ONE / T::of(n as f64),
            Elementwise::Multiply => (0..n).filter(|&j| j != k).fold(T::ONE, |p, j| p * x(j)),
            Elementwise::Maximum | Elementwise::Minimum => {
                let max = self == Elementwise::Maximum;
                let (mut best, mut share) = (x(0), one(0));
                for j in 1..n {
                    let v = x(j);
                    if v == best {
                        share = (share + one(j)) * T::of(0.5);
                    } else if (v > best) == max {
                        best = v;
                        share = one(j);
                    }
                }
                share
            }
        }
    }
}

/// Where output element `i` (of shape `out`) reads an operand of shape `shape`: its axes lined
/// up with the output's last ones, an axis of size 1 repeated along the output's, as Keras's
/// merges (and numpy) broadcast.
#[inline]
fn source(mut i: usize, out: &[usize], shape: &[usize]) -> usize {
    let (mut at, mut stride) = (0, 1);
    for d in (0..out.len()).rev() {
        let size = out[d].max(1);
        let o = i % size;
        i /= size;
        if let Some(own) = (d + shape.len()).checked_sub(out.len()) {
            if shape[own] != 1 {
                at += o * stride;
            }
            stride *= shape[own];
        }
    }
    at
}

/// An elementwise merge of operands whose shapes broadcast to `Y`'s (Keras's `Add` of a
/// `(4, 3)` sequence and a `(1, 3)` or `(3,)` one): each part is its values and its shape.
/// Values a part does not hold (a shape that does not broadcast, by hand) read as zero.
///
/// ```
/// use nn_core::merge::{self, Elementwise};
/// use nn_core::tensor::{Tensor, Tensor2};
/// let (a, b) = ([1.0f32, 2.0, 3.0, 4.0], [10.0f32, 20.0]);
/// let y: Tensor2<f32, 2, 2> = merge::broadcast(Elementwise::Add, &[(&a, &[2, 2]), (&b, &[2])]);
/// assert_eq!(y.as_slice(), &[11.0, 22.0, 13.0, 24.0]);
/// ```
#[inline]
pub fn broadcast<Y: Tensor>(op: Elementwise, parts: &[(&[Y::Scalar], &[usize])]) -> Y {
    let mut y = Y::ZEROS;
    for (i, v) in y.as_mut_slice().iter_mut().enumerate() {
        *v = op.value(parts.len(), |j| {
            let (values, shape) = parts[j];
            values.get(source(i, Y::SHAPE, shape)).copied().unwrap_or(Y::Scalar::ZERO)
        });
    }
    y
}

/// The backward passes of the merges, over a whole batch as flat slices (every merge but `Dot`
/// is elementwise or row by row, so the batch axis is one more run of rows). Each **adds** the
/// gradient with respect to operand `k` into `dx`, so a value read by several layers gathers
/// all their gradients; `dy` is the gradient with respect to the merge's output.
pub mod grad {
    use crate::Float;

    /// `Add` and each operand of `Average` before its division: `dx += dy`.
    #[inline]
    pub fn add<T: Float>(dy: &[T], dx: &mut [T]) {
        for (d, g) in dx.iter_mut().zip(dy) {
            *d += *g;
        }
    }

    /// `Subtract`: `+dy` into the first operand, `-dy` into the second.
    #[inline]
    pub fn subtract<T: Float>(k: usize, dy: &[T], dx: &mut [T]) {
        if k == 0 {
            add(dy, dx);
        } else {
            for (d, g) in dx.iter_mut().zip(dy) {
                *d -= *g;
            }
        }
    }

    /// `Average` of `count` operands: `dx += dy / count`.
    #[inline]
    pub fn average<T: Float>(count: usize, dy: &[T], dx: &mut [T]) {
        let count = T::of(count as f64);
        for (d, g) in dx.iter_mut().zip(dy) {
            *d += *g / count;
        }
    }

    /// `Multiply`: `dx += dy ·` the product of the other operands.
    #[inline]
    pub fn multiply<T: Float>(k: usize, xs: &[&[T]], dy: &[T], dx: &mut [T]) {
        for (i, (d, g)) in dx.iter_mut().zip(dy).enumerate() {
            let others = xs.iter().enumerate().filter(|(j, _)| *j != k).fold(T::ONE, |p, (_, x)| p * x[i]);
            *d += *g * others;
        }
    }

    /// [`super::broadcast`]: into operand `k` (of shape `shapes[k]`), each output element's
    /// gradient times its share, summed over the elements that read the same value. `xs` are the
    /// operands and `dy` the output's gradient (of shape `out`), sample after sample.
    pub fn broadcast<T: Float>(
        op: super::Elementwise,
        k: usize,
        out: &[usize],
        shapes: &[&[usize]],
        xs: &[&[T]],
        dy: &[T],
        dx: &mut [T],
    ) {
        let len = |j: usize| shapes[j].iter().product::<usize>();
        let out_len = out.iter().product::<usize>();
        if out_len == 0 || xs.len() != shapes.len() {
            return;
        }
        for (s, dys) in dy.chunks_exact(out_len).enumerate() {
            for (i, g) in dys.iter().enumerate() {
                let at = |j: usize| s * len(j) + super::source(i, out, shapes[j]);
                let share = op.share(k, xs.len(), |j| xs[j].get(at(j)).copied().unwrap_or(T::ZERO));
                if let Some(d) = dx.get_mut(at(k)) {
                    *d += *g * share;
                }
            }
        }
    }

    /// `Maximum` (`max = true`) or `Minimum`: `dy` goes to the operand the fold picked. Where the
    /// fold met a tie, each side takes half, as JAX's gradient of `maximum` gives it.
    #[inline]
    pub fn extremum<T: Float>(max: bool, k: usize, xs: &[&[T]], dy: &[T], dx: &mut [T]) {
        let half = T::of(0.5);
        for (i, (d, g)) in dx.iter_mut().zip(dy).enumerate() {
            // The share of operand `k` in the running extremum after each fold step.
            let (mut best, mut share) = (xs[0][i], if k == 0 { T::ONE } else { T::ZERO });
            for (j, x) in xs.iter().enumerate().skip(1) {
                let v = x[i];
                let mine = if j == k { T::ONE } else { T::ZERO };
                if v == best {
                    share = (share + mine) * half;
                } else if (v > best) == max {
                    best = v;
                    share = mine;
                }
            }
            *d += *g * share;
        }
    }

    /// `Concatenate`: operand `k`'s columns of each row of `dy`, the operands' row widths being
    /// `lasts` (see [`super::concatenate`]).
    #[inline]
    pub fn concatenate<T: Float>(k: usize, lasts: &[usize], dy: &[T], dx: &mut [T]) {
        let width: usize = lasts.iter().sum();
        let start: usize = lasts[..k].iter().sum();
        let len = lasts[k];
        if width == 0 || len == 0 {
            return;
        }
        for (row, d) in dy.chunks_exact(width).zip(dx.chunks_exact_mut(len)) {
            add(&row[start..start + len], d);
        }
    }

    /// `Dot` of vectors of `n` features, sample by sample: the gradient with respect to operand
    /// `k` of `a · b`, or of the cosine with `normalize` (each vector scaled by
    /// `min(1 / |x|, 1e7)`, the cap having no gradient, as in Keras).
    #[inline]
    pub fn dot<T: Float>(k: usize, n: usize, normalize: bool, a: &[T], b: &[T], dy: &[T], dx: &mut [T]) {
        let (mine, other) = if k == 0 { (a, b) } else { (b, a) };
        let n = n.max(1);
        let inv = |x: &[T]| {
            let inv = T::ONE / x.iter().fold(T::ZERO, |s, v| s + *v * *v).sqrt();
            if inv < T::of(1e7) { (inv, true) } else { (T::of(1e7), false) }
        };
        for (((x, o), g), d) in
            mine.chunks_exact(n).zip(other.chunks_exact(n)).zip(dy).zip(dx.chunks_exact_mut(n))
        {
            if !normalize {
                for (d, o) in d.iter_mut().zip(o) {
                    *d += *g * *o;
                }
                continue;
            }
            let ((ix, free), (io, _)) = (inv(x), inv(o));
            // With x̂ = x·ix and ô = o·io, d(x̂·ô)/dx = ix·(ô - (x̂·ô)·x̂) while ix follows |x|.
            let cos = x.iter().zip(o).fold(T::ZERO, |s, (x, o)| s + *x * *o) * ix * io;
            for ((d, x), o) in d.iter_mut().zip(x).zip(o) {
                let radial = if free { cos * *x * ix } else { T::ZERO };
                *d += *g * ix * (*o * io - radial);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Tensor;
    use nalgebra::{Vector2, Vector3};

    #[test]
    fn folds_several_operands_in_order() {
        let (a, b, c) = (Vector2::new(1.0f64, -2.0), Vector2::new(4.0, 0.5), Vector2::new(-3.0, 8.0));
        assert_eq!(add([&a, &b, &c]), Vector2::new(2.0, 6.5));
        assert_eq!(multiply([&a, &b, &c]), Vector2::new(-12.0, -8.0));
        assert_eq!(average([&a, &b, &c]), Vector2::new(2.0 / 3.0, 6.5 / 3.0));
        assert_eq!(maximum([&a, &b, &c]), Vector2::new(4.0, 8.0));
        assert_eq!(minimum([&a, &b, &c]), Vector2::new(-3.0, -2.0));
        assert_eq!(subtract(&a, &b), Vector2::new(-3.0, -2.5));
    }

    #[test]
    fn dot_normalized_is_the_cosine_and_zero_vectors_give_zero() {
        let (a, b) = (Vector2::new(3.0f64, 4.0), Vector2::new(4.0, 3.0));
        assert_eq!(dot(&a, &b, false)[0], 24.0);
        assert!((dot(&a, &b, true)[0] - 24.0 / 25.0).abs() < 1e-15);
        assert_eq!(dot(&Vector2::zeros(), &b, true)[0], 0.0);
    }

    #[test]
    fn concatenate_interleaves_the_rows_of_sequences() {
        use crate::tensor::Tensor2;
        let a = Tensor2::<f32, 2, 1>::from_rows([[1.0], [2.0]]);
        let b = Tensor2::<f32, 2, 2>::from_rows([[3.0, 4.0], [5.0, 6.0]]);
        let c: Tensor2<f32, 2, 3> = concatenate(&[(a.as_slice(), 1), (b.as_slice(), 2)]);
        assert_eq!(c.as_slice(), &[1.0, 3.0, 4.0, 2.0, 5.0, 6.0]);
        assert_eq!(add([&b, &b]).as_slice(), &[6.0, 8.0, 10.0, 12.0]);
    }

    #[test]
    fn concatenate_that_does_not_add_up_never_reads_or_writes_out_of_bounds() {
        let a = Vector2::new(1.0f32, 2.0);
        let short: Vector3<f32> = concatenate(&[(a.as_slice(), 2)]);
        assert_eq!(short, Vector3::new(1.0, 2.0, 0.0));
        let long: Vector3<f32> = concatenate(&[(a.as_slice(), 2), (a.as_slice(), 2)]);
        assert_eq!(long, Vector3::new(1.0, 2.0, 1.0));
    }
}
