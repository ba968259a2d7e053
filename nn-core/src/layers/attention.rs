//! Keras's `Attention` (dot-product, or `score_mode="concat"`) and `AdditiveAttention`: a query
//! sequence attends over a value sequence (keyed by the value itself, or by a third input).
//!
//! For each query step `i` the scores over the value steps `j` are, by mode:
//!
//! - [`DOT`]: `s = q_i · k_j`, times `scale` with `use_scale`;
//! - [`CONCAT`]: `s = w Σ_d tanh(c (q_id + k_jd))`, `w` Keras's `concat_score_weight` and `c`
//!   its `scale` (1 without `use_scale`);
//! - [`ADDITIVE`]: `s = Σ_d scale_d tanh(q_id + k_jd)` (`scale_d = 1` without `use_scale`).
//!
//! With `use_causal_mask`, scores of later steps (`j > i`) lose `1e9`, as Keras's `where` does;
//! a softmax over `j` then weighs the value steps: `out_i = Σ_j p_ij v_j`. The computation keeps
//! Keras's order of operations, so its roundings are Keras's up to the sums' order.

use crate::Float;
use crate::activations::{ActivationFn, Softmax};
use crate::init::{Rng, glorot_uniform};
use crate::kernels::cpu::Level;
use crate::layer::{Layer, WeightMut, WeightRef, Zeroable};
use crate::tensor::Tensor2;
use crate::train::{Ctx, Train};
use crate::weights::bytes;
use core::marker::PhantomData;
use nalgebra::SMatrix;

/// Scores as dot products of query and key steps (Keras's `Attention`, `score_mode="dot"`).
pub const DOT: u8 = 0;
/// Scores as `w Σ tanh(c (q + k))` (Keras's `Attention`, `score_mode="concat"`).
pub const CONCAT: u8 = 1;
/// Scores as `Σ scale ⊙ tanh(q + k)` (Keras's `AdditiveAttention`).
pub const ADDITIVE: u8 = 2;

/// What Keras subtracts from a masked score: after the softmax its weight is exactly 0.
const MASKED: f64 = 1.0e9;

/// The inputs an attention layer is called on: `[query, value]` (the value is its own key) or
/// `[query, value, key]`, as a tuple of sequences.
pub trait AttentionInputs<T: Float, const TQ: usize, const TV: usize, const D: usize, const DV: usize>:
    Copy
{
    /// The query, `TQ` steps of `D`.
    fn query(&self) -> &Tensor2<T, TQ, D>;
    /// The value, `TV` steps of `DV`.
    fn value(&self) -> &Tensor2<T, TV, DV>;
    /// The key, `TV` steps of `D`: the value itself for a pair.
    fn key(&self) -> &Tensor2<T, TV, D>;
    /// Adds the gradients of the query, the value and the key into `self`'s (the key's into the
    /// value's for a pair).
    fn add_grads(&mut self, dq: &SMatrix<T, D, TQ>, dv: &SMatrix<T, DV, TV>, dk: &SMatrix<T, D, TV>);
}

impl<T: Float, const TQ: usize, const TV: usize, const D: usize> AttentionInputs<T, TQ, TV, D, D>
    for (Tensor2<T, TQ, D>, Tensor2<T, TV, D>)
{
    #[inline(always)]
    fn query(&self) -> &Tensor2<T, TQ, D> {
        &self.0
    }
    #[inline(always)]
    fn value(&self) -> &Tensor2<T, TV, D> {
        &self.1
    }
    #[inline(always)]
    fn key(&self) -> &Tensor2<T, TV, D> {
        &self.1
    }
    #[inline(always)]
    fn add_grads(&mut self, dq: &SMatrix<T, D, TQ>, dv: &SMatrix<T, D, TV>, dk: &SMatrix<T, D, TV>) {
        self.0.0 += dq;
        self.1.0 += dv;
        self.1.0 += dk;
    }
}

impl<T: Float, const TQ: usize, const TV: usize, const D: usize, const DV: usize>
    AttentionInputs<T, TQ, TV, D, DV> for (Tensor2<T, TQ, D>, Tensor2<T, TV, DV>, Tensor2<T, TV, D>)
{
    #[inline(always)]
    fn query(&self) -> &Tensor2<T, TQ, D> {
        &self.0
    }
    #[inline(always)]
    fn value(&self) -> &Tensor2<T, TV, DV> {
        &self.1
    }
    #[inline(always)]
    fn key(&self) -> &Tensor2<T, TV, D> {
        &self.2
    }
    #[inline(always)]
    fn add_grads(&mut self, dq: &SMatrix<T, D, TQ>, dv: &SMatrix<T, DV, TV>, dk: &SMatrix<T, D, TV>) {
        self.0.0 += dq;
        self.1.0 += dv;
        self.2.0 += dk;
    }
}

/// Keras's `Attention` (`MODE` [`DOT`] or [`CONCAT`]) or `AdditiveAttention` (`MODE`
/// [`ADDITIVE`]) over inputs `X` ([`AttentionInputs`]): a query of `TQ` steps of `D` attends
/// over a value of `TV` steps of `DV`; the output has the query's steps and the value's
/// channels.
///
/// Weights, in Keras's order: `scale` (`SC` values: 1 for `Attention` with `use_scale`, `D`
/// for `AdditiveAttention` with it, else 0), then `concat_score_weight` (`CW`: 1 for
/// `score_mode="concat"`, else 0). `CAUSAL` is Keras's `use_causal_mask` call argument.
///
/// ```
/// use nn_core::layers::{Attention, DOT};
/// use nn_core::tensor::Tensor2;
/// use nn_core::Layer;
/// type Pair = (Tensor2<f32, 1, 2>, Tensor2<f32, 2, 2>);
/// let layer = Attention::<f32, Pair, 1, 2, 2, 2, DOT, 0, 0, false>::ZEROS;
/// // The query matches the second value step far better: the output is nearly that step.
/// let q = Tensor2::from_rows([[0.0, 20.0]]);
/// let v = Tensor2::from_rows([[1.0, 0.0], [0.0, 1.0]]);
/// let out = layer.forward(&(q, v));
/// assert!(out.0[(1, 0)] > 0.999 && out.0[(0, 0)] < 1e-3);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Attention<
    T,
    X,
    const TQ: usize,
    const TV: usize,
    const D: usize,
    const DV: usize,
    const MODE: u8,
    const SC: usize,
    const CW: usize,
    const CAUSAL: bool,
> {
    /// Keras's `scale`: the dot products' factor, `concat`'s factor inside `tanh`, or
    /// `AdditiveAttention`'s weight per channel.
    pub scale: [T; SC],
    /// Keras's `concat_score_weight`: the factor of `concat`'s sum.
    pub concat_score_weight: [T; CW],
    _inputs: PhantomData<fn(X) -> X>,
}

impl<
    T: Float,
    X,
    const TQ: usize,
    const TV: usize,
    const D: usize,
    const DV: usize,
    const MODE: u8,
    const SC: usize,
    const CW: usize,
    const CAUSAL: bool,
> Attention<T, X, TQ, TV, D, DV, MODE, SC, CW, CAUSAL>
{
    /// Every weight zero.
    pub const ZEROS: Self =
        Attention { scale: [T::ZERO; SC], concat_score_weight: [T::ZERO; CW], _inputs: PhantomData };
    /// Keras's shape of `scale`: a scalar for `Attention`, one per channel for
    /// `AdditiveAttention`.
    const SCALE_SHAPE: &'static [usize] = if MODE == ADDITIVE { &[SC] } else { &[] };

    /// Reads the weights from raw weight bytes.
    #[doc(hidden)]
    pub const fn read_le_bytes(&mut self, bytes: &[u8], at: usize) -> usize {
        let at = bytes::read(bytes, at, &mut self.scale);
        bytes::read(bytes, at, &mut self.concat_score_weight)
    }

    /// The scale inside `tanh` (`concat`'s) or outside it (`Attention`'s dot products), 1
    /// without `use_scale`.
    #[inline(always)]
    fn factor(&self) -> T {
        if SC == 1 { self.scale[0] } else { T::ONE }
    }

    /// `AdditiveAttention`'s weight of channel `d`, 1 without `use_scale`.
    #[inline(always)]
    fn channel_scale(&self, d: usize) -> T {
        if SC == D && MODE == ADDITIVE { self.scale[d] } else { T::ONE }
    }

    /// The scores before the mask, as Keras computes them: column `i` holds query step `i`'s
    /// over the value steps.
    #[inline(always)]
    fn scores(&self, q: &SMatrix<T, D, TQ>, k: &SMatrix<T, D, TV>) -> SMatrix<T, TV, TQ> {
        match MODE {
            DOT => {
                let mut s = k.tr_mul(q);
                if SC == 1 {
                    s *= self.scale[0];
                }
                s
            }
            _ => SMatrix::from_fn(|j, i| {
                let mut sum = T::ZERO;
                for d in 0..D {
                    let t = self.tanh_of(q[(d, i)], k[(d, j)]);
                    sum += if MODE == ADDITIVE { self.channel_scale(d) * t } else { t };
                }
                if MODE == CONCAT && CW == 1 { self.concat_score_weight[0] * sum } else { sum }
            }),
        }
    }

    /// `tanh` of a query and a key value, `concat`'s scale inside it.
    #[inline(always)]
    fn tanh_of(&self, q: T, k: T) -> T {
        if MODE == CONCAT && SC == 1 { (self.scale[0] * (q + k)).tanh() } else { (q + k).tanh() }
    }

    /// The attention weights: scores masked as Keras masks them, then a softmax over each
    /// query step's column.
    #[inline(always)]
    fn weights(&self, q: &SMatrix<T, D, TQ>, k: &SMatrix<T, D, TV>) -> SMatrix<T, TV, TQ> {
        let mut p = self.scores(q, k);
        if CAUSAL {
            for i in 0..TQ {
                for j in i + 1..TV {
                    p[(j, i)] -= T::of(MASKED);
                }
            }
        }
        Softmax.apply_rows(p.as_mut_slice(), TV);
        p
    }
}

impl<
    T: Float,
    X: AttentionInputs<T, TQ, TV, D, DV>,
    const TQ: usize,
    const TV: usize,
    const D: usize,
    const DV: usize,
    const MODE: u8,
    const SC: usize,
    const CW: usize,
    const CAUSAL: bool,
> Layer for Attention<T, X, TQ, TV, D, DV, MODE, SC, CW, CAUSAL>
{
    type Scalar = T;
    type Input = X;
    type Output = Tensor2<T, TQ, DV>;
    const CLASS: &'static str = if MODE == ADDITIVE { "AdditiveAttention" } else { "Attention" };
    const PARAMS: usize = SC + CW;

    #[inline]
    fn forward(&self, x: &X) -> Tensor2<T, TQ, DV> {
        let p = self.weights(&x.query().0, &x.key().0);
        Tensor2(x.value().0 * p)
    }

    /// Keras's initializers: `Attention`'s weights ones, `AdditiveAttention`'s scale Glorot
    /// uniform over its `D` values.
    fn init_keras(&mut self, rng: &mut Rng) {
        self.concat_score_weight = [T::ONE; CW];
        if MODE == ADDITIVE {
            glorot_uniform(&mut self.scale, SC, SC, rng);
        } else {
            self.scale = [T::ONE; SC];
        }
    }

    fn visit_weights(&self, f: &mut dyn FnMut(WeightRef<'_, T>)) {
        if SC > 0 {
            f(WeightRef { name: "scale", shape: Self::SCALE_SHAPE, data: &self.scale });
        }
        if CW > 0 {
            f(WeightRef { name: "concat_score_weight", shape: &[], data: &self.concat_score_weight });
        }
    }

    fn visit_weights_mut(&mut self, f: &mut dyn FnMut(WeightMut<'_, T>)) {
        if SC > 0 {
            f(WeightMut { name: "scale", shape: Self::SCALE_SHAPE, data: &mut self.scale });
        }
        if CW > 0 {
            f(WeightMut { name: "concat_score_weight", shape: &[], data: &mut self.concat_score_weight });
        }
    }
}

/// Keeps each sample's attention weights; the scores' pieces are recomputed from the inputs.
/// The gradient follows JAX through Keras's operations: the product with the value, the
/// softmax, the mask's `where` (which passes the gradient on unchanged), then the scores.
impl<
    T: Float,
    X: AttentionInputs<T, TQ, TV, D, DV>,
    const TQ: usize,
    const TV: usize,
    const D: usize,
    const DV: usize,
    const MODE: u8,
    const SC: usize,
    const CW: usize,
    const CAUSAL: bool,
> Train for Attention<T, X, TQ, TV, D, DV, MODE, SC, CW, CAUSAL>
{
    type Kept = SMatrix<T, TV, TQ>;
    const KEPT: Self::Kept = SMatrix::from_array_storage(nalgebra::ArrayStorage([[T::ZERO; TV]; TQ]));

    fn forward_train(
        &mut self,
        _level: Level,
        xs: &[X],
        ys: &mut [Tensor2<T, TQ, DV>],
        kept: &mut [Self::Kept],
        _ctx: &mut Ctx<'_>,
    ) {
        for ((x, y), p) in xs.iter().zip(ys).zip(kept) {
            *p = self.weights(&x.query().0, &x.key().0);
            y.0 = x.value().0 * *p;
        }
    }

    fn backward(
        &self,
        _level: Level,
        xs: &[X],
        _ys: &[Tensor2<T, TQ, DV>],
        kept: &[Self::Kept],
        dys: &mut [Tensor2<T, TQ, DV>],
        mut dxs: Option<&mut [X]>,
        mut grads: Option<&mut Self>,
    ) {
        for (s, ((x, p), dy)) in xs.iter().zip(kept).zip(dys.iter()).enumerate() {
            let (q, k, v) = (&x.query().0, &x.key().0, &x.value().0);
            // out = v · p: the value's gradient and the weights'.
            let dv = dy.0 * p.transpose();
            let mut ds = v.tr_mul(&dy.0);
            // The softmax's backward pass, column by column (its rows of `TV`).
            Softmax.backward_rows(&[], p.as_slice(), ds.as_mut_slice(), TV);
            let (mut dq, mut dk) = (SMatrix::<T, D, TQ>::zeros(), SMatrix::<T, D, TV>::zeros());
            self.scores_backward(q, k, &ds, &mut dq, &mut dk, grads.as_deref_mut());
            if let Some(dx) = dxs.as_deref_mut().and_then(|d| d.get_mut(s)) {
                dx.add_grads(&dq, &dv, &dk);
            }
        }
    }
}

impl<
    T: Float,
    X,
    const TQ: usize,
    const TV: usize,
    const D: usize,
    const DV: usize,
    const MODE: u8,
    const SC: usize,
    const CW: usize,
    const CAUSAL: bool,
> Attention<T, X, TQ, TV, D, DV, MODE, SC, CW, CAUSAL>
{
    /// From the scores' gradient `ds`, the query's and the key's (into `dq`, `dk`) and the
    /// weights' (added into `grads`).
    fn scores_backward(
        &self,
        q: &SMatrix<T, D, TQ>,
        k: &SMatrix<T, D, TV>,
        ds: &SMatrix<T, TV, TQ>,
        dq: &mut SMatrix<T, D, TQ>,
        dk: &mut SMatrix<T, D, TV>,
        grads: Option<&mut Self>,
    ) {
        if MODE == DOT {
            // s = c (kᵀ q): c's gradient sums ds ⊙ kᵀq; the products see c ds.
            let c = self.factor();
            if let Some(g) = grads.filter(|_| SC == 1) {
                g.scale[0] += ds.dot(&k.tr_mul(q));
            }
            dq.gemm(c, k, ds, T::ZERO);
            dk.gemm(c, q, &ds.transpose(), T::ZERO);
            return;
        }
        let (mut d_scale, mut d_weight) = ([T::ZERO; SC], T::ZERO);
        let w = if MODE == CONCAT && CW == 1 { self.concat_score_weight[0] } else { T::ONE };
        for i in 0..TQ {
            for j in 0..TV {
                // s = w Σ_d a_d tanh(u_d), u_d = c (q_d + k_d): each term's share of ds.
                let g = ds[(j, i)];
                for d in 0..D {
                    let t = self.tanh_of(q[(d, i)], k[(d, j)]);
                    let a = self.channel_scale(d);
                    if MODE == CONCAT {
                        d_weight += g * t;
                    } else if SC == D {
                        d_scale[d] += g * t;
                    }
                    let du = g * w * a * (T::ONE - t * t);
                    if MODE == CONCAT && SC == 1 {
                        d_scale[0] += du * (q[(d, i)] + k[(d, j)]);
                    }
                    let dsum = if MODE == CONCAT && SC == 1 { du * self.scale[0] } else { du };
                    dq[(d, i)] += dsum;
                    dk[(d, j)] += dsum;
                }
            }
        }
        if let Some(g) = grads {
            for (g, d) in g.scale.iter_mut().zip(d_scale) {
                *g += d;
            }
            if let Some(g) = g.concat_score_weight.first_mut() {
                *g += d_weight;
            }
        }
    }
}

// SAFETY: float arrays and a marker.
unsafe impl<
    T,
    X,
    const TQ: usize,
    const TV: usize,
    const D: usize,
    const DV: usize,
    const MODE: u8,
    const SC: usize,
    const CW: usize,
    const CAUSAL: bool,
> Zeroable for Attention<T, X, TQ, TV, D, DV, MODE, SC, CW, CAUSAL>
{
}

#[cfg(test)]
mod tests {
    // The references index query steps, value steps and channels as Keras's formulas do.
    #![allow(clippy::needless_range_loop)]
    use super::*;
    use crate::tensor::{Tensor, Tensors};

    type Pair = (Tensor2<f64, 3, 2>, Tensor2<f64, 4, 2>);
    type Triple = (Tensor2<f64, 3, 2>, Tensor2<f64, 4, 3>, Tensor2<f64, 4, 2>);

    fn seq<const S: usize, const C: usize>(seed: u64) -> Tensor2<f64, S, C> {
        let mut rng = Rng::new(seed);
        let mut t = Tensor2::<f64, S, C>::from_rows([[0.0; C]; S]);
        t.0.iter_mut().for_each(|v| *v = rng.next_f64() * 2.0 - 1.0);
        t
    }

    /// Keras's formulas, one value at a time.
    fn reference<const S: usize>(
        q: &Tensor2<f64, 3, 2>,
        k: &Tensor2<f64, 4, 2>,
        v: &Tensor2<f64, 4, S>,
        score: impl Fn(&[f64], &[f64]) -> f64,
        causal: bool,
    ) -> [[f64; S]; 3] {
        let mut out = [[0.0; S]; 3];
        for i in 0..3 {
            let mut s: [f64; 4] = core::array::from_fn(|j| score(q.step(i).as_slice(), k.step(j).as_slice()));
            if causal {
                s.iter_mut().enumerate().filter(|(j, _)| *j > i).for_each(|(_, x)| *x -= 1e9);
            }
            let max = s.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x));
            let e: [f64; 4] = s.map(|x| (x - max).exp());
            let sum: f64 = e.iter().sum();
            for j in 0..4 {
                for c in 0..S {
                    out[i][c] += e[j] / sum * v.step(j)[c];
                }
            }
        }
        out
    }

    fn assert_close<const S: usize>(got: &Tensor2<f64, 3, S>, want: [[f64; S]; 3]) {
        for i in 0..3 {
            for c in 0..S {
                assert!((got.step(i)[c] - want[i][c]).abs() < 1e-12, "[{i}][{c}]: {got:?} vs {want:?}");
            }
        }
    }

    #[test]
    fn each_score_mode_follows_keras_s_formula() {
        let (q, v3, k) = (seq::<3, 2>(1), seq::<4, 3>(2), seq::<4, 2>(3));
        let dot = |a: &[f64], b: &[f64]| a[0] * b[0] + a[1] * b[1];
        let mut scaled = Attention::<f64, Triple, 3, 4, 2, 3, DOT, 1, 0, false>::ZEROS;
        scaled.scale = [0.7];
        assert_close(&scaled.forward(&(q, v3, k)), reference(&q, &k, &v3, |a, b| 0.7 * dot(a, b), false));

        let mut concat = Attention::<f64, Pair, 3, 4, 2, 2, CONCAT, 1, 1, false>::ZEROS;
        (concat.scale, concat.concat_score_weight) = ([1.5], [-0.8]);
        let tanh_sum =
            |c: f64| move |a: &[f64], b: &[f64]| (c * (a[0] + b[0])).tanh() + (c * (a[1] + b[1])).tanh();
        assert_close(
            &concat.forward(&(q, k)),
            reference(&q, &k, &k, |a, b| -0.8 * tanh_sum(1.5)(a, b), false),
        );

        let mut additive = Attention::<f64, Pair, 3, 4, 2, 2, ADDITIVE, 2, 0, true>::ZEROS;
        additive.scale = [0.5, -2.0];
        let want =
            reference(&q, &k, &k, |a, b| 0.5 * (a[0] + b[0]).tanh() - 2.0 * (a[1] + b[1]).tanh(), true);
        assert_close(&additive.forward(&(q, k)), want);
        // Causal: the first query step sees only the first value step.
        assert_eq!(additive.forward(&(q, k)).step(0), k.step(0));
        assert_eq!(
            <Attention<f64, Pair, 3, 4, 2, 2, ADDITIVE, 2, 0, true> as Layer>::CLASS,
            "AdditiveAttention"
        );
        assert_eq!(<Attention<f64, Pair, 3, 4, 2, 2, CONCAT, 1, 1, false> as Layer>::PARAMS, 2);
    }

    /// `Σ r ⊙ out` for a fixed `r`, and its gradient by the backward pass: the inputs' and the
    /// weights', checked against central differences.
    fn check_gradients<
        X: AttentionInputs<f64, 3, 4, 2, DV> + Tensors<f64>,
        const DV: usize,
        const MODE: u8,
        const SC: usize,
        const CW: usize,
        const CAUSAL: bool,
    >(
        layer: Attention<f64, X, 3, 4, 2, DV, MODE, SC, CW, CAUSAL>,
        x: X,
    ) {
        let r = seq::<3, DV>(9);
        let loss = |l: &Attention<f64, X, 3, 4, 2, DV, MODE, SC, CW, CAUSAL>, x: &X| -> f64 {
            l.forward(x).as_slice().iter().zip(r.as_slice()).map(|(a, b)| a * b).sum()
        };
        let (mut l, mut grads) = (layer, Attention::ZEROS);
        let mut rng = Rng::new(0);
        let mut ctx = Ctx { trainable: true, rng: &mut rng, penalty: &mut 0.0 };
        let (mut y, mut kept) =
            ([Tensor2::ZEROS], [Attention::<f64, X, 3, 4, 2, DV, MODE, SC, CW, CAUSAL>::KEPT]);
        l.forward_train(Level::Portable, &[x], &mut y, &mut kept, &mut ctx);
        let mut dx = [X::ZEROED];
        l.backward(Level::Portable, &[x], &y, &kept, &mut [r], Some(&mut dx), Some(&mut grads));
        let h = 1e-6;
        let close = |got: f64, want: f64, what: &str| {
            assert!((got - want).abs() <= 1e-7 * (1.0 + want.abs()), "{what}: {got} vs {want}");
        };
        for part in 0..X::COUNT {
            for i in 0..X::len_of(part) {
                let mut values = [0.0; 16];
                let n = X::len_of(part);
                let shifted = |delta: f64| {
                    let (mut x2, mut v) = (x, [0.0; 16]);
                    x.write_flat(part, &mut v[..n]);
                    v[i] += delta;
                    x2.read_flat(part, &v[..n]).unwrap();
                    loss(&layer, &x2)
                };
                let want = (shifted(h) - shifted(-h)) / (2.0 * h);
                dx[0].write_flat(part, &mut values[..n]);
                close(values[i], want, &alloc::format!("input {part} [{i}]"));
            }
        }
        let mut flat = [0.0; 4];
        let mut at = 0;
        layer.visit_weights(&mut |w| {
            flat[at..at + w.data.len()].copy_from_slice(w.data);
            at += w.data.len();
        });
        let mut got = [0.0; 4];
        let mut g_at = 0;
        grads.visit_weights(&mut |w| {
            got[g_at..g_at + w.data.len()].copy_from_slice(w.data);
            g_at += w.data.len();
        });
        for i in 0..at {
            let shifted = |delta: f64| {
                let mut l2 = layer;
                let mut w = flat;
                w[i] += delta;
                let mut k = 0;
                l2.visit_weights_mut(&mut |wm| {
                    wm.data.copy_from_slice(&w[k..k + wm.data.len()]);
                    k += wm.data.len();
                });
                loss(&l2, &x)
            };
            close(got[i], (shifted(h) - shifted(-h)) / (2.0 * h), &alloc::format!("weight {i}"));
        }
    }

    #[test]
    fn the_backward_pass_matches_finite_differences_in_every_mode() {
        let (q, v, k) = (seq::<3, 2>(4), seq::<4, 3>(5), seq::<4, 2>(6));
        let mut dot = Attention::<f64, Triple, 3, 4, 2, 3, DOT, 1, 0, true>::ZEROS;
        dot.scale = [1.3];
        check_gradients(dot, (q, v, k));
        check_gradients(Attention::<f64, Pair, 3, 4, 2, 2, DOT, 0, 0, false>::ZEROS, (q, k));
        let mut concat = Attention::<f64, Pair, 3, 4, 2, 2, CONCAT, 1, 1, false>::ZEROS;
        (concat.scale, concat.concat_score_weight) = ([0.9], [1.4]);
        check_gradients(concat, (q, k));
        let mut additive = Attention::<f64, Triple, 3, 4, 2, 3, ADDITIVE, 2, 0, true>::ZEROS;
        additive.scale = [0.6, -1.1];
        check_gradients(additive, (q, v, k));
        check_gradients(Attention::<f64, Pair, 3, 4, 2, 2, ADDITIVE, 0, 0, false>::ZEROS, (q, k));
    }
}
