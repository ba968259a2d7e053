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

use super::dense::EinsumDense;
use crate::Float;
use crate::activations::{ActivationFn, Linear, Softmax};
use crate::init::{Initializers, Rng, glorot_uniform};
use crate::kernels::cpu::Level;
use crate::layer::{Layer, WeightMut, WeightRef, Zeroable};
use crate::tensor::{Steps, Tensor, Tensor2, Tensor3, cast_slice, cast_slice_mut, view};
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
/// `[query, value, key]`, as a tuple of sequences: a query of `TQ` steps of `D`, a value and a
/// key of `TV` steps of `DV` and `DK`.
pub trait AttentionInputs<
    T: Float,
    const TQ: usize,
    const TV: usize,
    const D: usize,
    const DV: usize,
    const DK: usize,
>: Copy
{
    /// The query.
    fn query(&self) -> &Tensor2<T, TQ, D>;
    /// The value.
    fn value(&self) -> &Tensor2<T, TV, DV>;
    /// The key: the value itself for a pair.
    fn key(&self) -> &Tensor2<T, TV, DK>;
    /// Adds the gradients of the query, the value and the key into `self`'s (the key's into the
    /// value's for a pair).
    fn add_grads(&mut self, dq: &SMatrix<T, D, TQ>, dv: &SMatrix<T, DV, TV>, dk: &SMatrix<T, DK, TV>);
    /// Keras's `attention_mask` given as an input, `(TQ, TV)` row-major: the fourth of
    /// `[query, value, key, mask]`, which the multi-head layers read.
    #[inline(always)]
    fn attention_mask(&self) -> Option<&[T]> {
        None
    }
}

impl<T: Float, const TQ: usize, const TV: usize, const D: usize, const DV: usize>
    AttentionInputs<T, TQ, TV, D, DV, DV> for (Tensor2<T, TQ, D>, Tensor2<T, TV, DV>)
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
    fn key(&self) -> &Tensor2<T, TV, DV> {
        &self.1
    }
    #[inline(always)]
    fn add_grads(&mut self, dq: &SMatrix<T, D, TQ>, dv: &SMatrix<T, DV, TV>, dk: &SMatrix<T, DV, TV>) {
        self.0.0 += dq;
        self.1.0 += dv;
        self.1.0 += dk;
    }
}

/// `AttentionInputs` for a tuple beginning `[query, value, key]`, then the items given.
macro_rules! with_key {
    ($(#[$doc:meta])* ($($more:ty),*) { $($items:tt)* }) => {
        $(#[$doc])*
        impl<T: Float, const TQ: usize, const TV: usize, const D: usize, const DV: usize, const DK: usize>
            AttentionInputs<T, TQ, TV, D, DV, DK>
            for (Tensor2<T, TQ, D>, Tensor2<T, TV, DV>, Tensor2<T, TV, DK> $(, $more)*)
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
            fn key(&self) -> &Tensor2<T, TV, DK> {
                &self.2
            }
            #[inline(always)]
            fn add_grads(&mut self, dq: &SMatrix<T, D, TQ>, dv: &SMatrix<T, DV, TV>, dk: &SMatrix<T, DK, TV>) {
                self.0.0 += dq;
                self.1.0 += dv;
                self.2.0 += dk;
            }
            $($items)*
        }
    };
}

with_key!(() {});

with_key! {
    /// `[query, value, key, mask]`: Keras's `attention_mask` as an input (the multi-head
    /// layers'; called without a key, the value is given again as the key). The mask has no
    /// gradient.
    (Tensor2<T, TQ, TV>) {
        #[inline(always)]
        fn attention_mask(&self) -> Option<&[T]> {
            Some(self.3.as_slice())
        }
    }
}

/// Which scores Keras masks: with `causal` the later steps', and the padded steps of the
/// inputs as their masks give them (`false` at padding; see [`super::masking`]): the value's
/// and the key's, and for the multi-head layers the query's, whose rows they mask whole; and
/// the multi-head layers' `attention_mask` given as an input, each score whose value is 0.
#[derive(Clone, Copy, Debug, Default)]
struct ScoreMask<'a, T = f32> {
    /// Keras's `use_causal_mask`.
    causal: bool,
    /// The query's mask (the multi-head layers').
    query: Option<&'a [bool]>,
    /// The value's mask.
    value: Option<&'a [bool]>,
    /// The key's mask.
    key: Option<&'a [bool]>,
    /// Keras's `attention_mask`, `(query steps, value steps)` row-major: 0 where a query step
    /// may not attend to a value step.
    attention: Option<&'a [T]>,
}

impl<'a, T: Float> ScoreMask<'a, T> {
    /// The causal mask alone.
    const fn causal(causal: bool) -> Self {
        ScoreMask { causal, query: None, value: None, key: None, attention: None }
    }

    /// Whether query step `i`'s score of value step `j` (of `tv`) is masked.
    #[inline(always)]
    fn masks(&self, i: usize, j: usize, tv: usize) -> bool {
        let padded =
            |mask: Option<&[bool]>, t: usize| mask.is_some_and(|m| !m.get(t).copied().unwrap_or(true));
        let barred = self.attention.is_some_and(|a| a.get(i * tv + j).is_some_and(|w| *w == T::ZERO));
        (self.causal && j > i)
            || padded(self.value, j)
            || padded(self.key, j)
            || padded(self.query, i)
            || barred
    }
}

/// The attention weights from scores `s` (column `i`: query step `i` over the value steps):
/// masked scores lose `1e9` once, as Keras's `where` takes it off (and its multi-head layers'
/// softmax adds `-1e9`); then a softmax over each column.
#[inline(always)]
fn mask_and_softmax<T: Float, const TV: usize, const TQ: usize>(
    s: &mut SMatrix<T, TV, TQ>,
    mask: ScoreMask<'_, T>,
) {
    let any = mask.query.is_some() || mask.value.is_some() || mask.key.is_some() || mask.attention.is_some();
    if mask.causal || any {
        for i in 0..TQ {
            for j in 0..TV {
                if mask.masks(i, j, TV) {
                    s[(j, i)] -= T::of(MASKED);
                }
            }
        }
    }
    Softmax.apply_rows(s.as_mut_slice(), TV);
}

/// The attention weights `p` after Keras's `dropout` in training: each kept with probability
/// `1 - rate` (drawn as the Dropout layers draw) and scaled by `1 / (1 - rate)`, else 0.
#[inline(always)]
fn dropped<T: Float, const TV: usize, const TQ: usize>(
    p: &SMatrix<T, TV, TQ>,
    rate: f64,
    rng: &mut Rng,
) -> SMatrix<T, TV, TQ> {
    let keep = 1.0 - rate;
    if rate <= 0.0 {
        return *p;
    }
    p.map(|w| if rng.next_f64() < keep { w / T::of(keep) } else { T::ZERO })
}

/// The backward pass of `out = v · pd` (`pd` the weights `p` after dropout at `rate`, `p`
/// itself without) and of the softmax that made `p`: the value's gradient and the scores'.
#[inline(always)]
fn weights_backward<T: Float, const TV: usize, const TQ: usize, const DV: usize>(
    (p, pd): (&SMatrix<T, TV, TQ>, &SMatrix<T, TV, TQ>),
    rate: f64,
    v: &SMatrix<T, DV, TV>,
    dy: &SMatrix<T, DV, TQ>,
) -> (SMatrix<T, DV, TV>, SMatrix<T, TV, TQ>) {
    let dv = dy * pd.transpose();
    let mut ds = v.tr_mul(dy);
    if rate > 0.0 {
        // A dropped weight passes nothing back; a kept one its gradient over `1 - rate`.
        let keep = T::of(1.0 - rate);
        ds.zip_apply(pd, |d, w| *d = if w != T::ZERO { *d / keep } else { T::ZERO });
    }
    // The mask's `where` passes the gradient on unchanged; the softmax's rows are `p`'s columns.
    Softmax.backward_rows(&[], p.as_slice(), ds.as_mut_slice(), TV);
    (dv, ds)
}

/// The backward pass of dot-product scores `s = c · kᵀq`: the query's and the key's gradients.
#[inline(always)]
fn dot_backward<T: Float, const K: usize, const TQ: usize, const TV: usize>(
    q: &SMatrix<T, K, TQ>,
    k: &SMatrix<T, K, TV>,
    ds: &SMatrix<T, TV, TQ>,
    c: T,
) -> (SMatrix<T, K, TQ>, SMatrix<T, K, TV>) {
    let (mut dq, mut dk) = (SMatrix::<T, K, TQ>::zeros(), SMatrix::<T, K, TV>::zeros());
    dq.gemm(c, k, ds, T::ZERO);
    dk.gemm(c, q, &ds.transpose(), T::ZERO);
    (dq, dk)
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
    /// Keras's `dropout`: the fraction of attention weights dropped in training.
    pub dropout: f64,
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
    pub const ZEROS: Self = Attention {
        scale: [T::ZERO; SC],
        concat_score_weight: [T::ZERO; CW],
        dropout: 0.0,
        _inputs: PhantomData,
    };
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
        self.weights_masked(q, k, ScoreMask::causal(CAUSAL))
    }

    #[inline(always)]
    fn weights_masked(
        &self,
        q: &SMatrix<T, D, TQ>,
        k: &SMatrix<T, D, TV>,
        mask: ScoreMask<'_, T>,
    ) -> SMatrix<T, TV, TQ> {
        let mut p = self.scores(q, k);
        mask_and_softmax(&mut p, mask);
        p
    }
}

impl<
    T: Float,
    X: AttentionInputs<T, TQ, TV, D, DV, D>,
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

impl<
    T: Float,
    X: AttentionInputs<T, TQ, TV, D, DV, D>,
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
    /// The output and, as Keras's `return_attention_scores=True` returns them, the attention
    /// weights: each query step's over the value steps, `(TQ, TV)`.
    pub fn forward_with_scores(&self, _level: Level, x: &X) -> (Tensor2<T, TQ, DV>, Tensor2<T, TQ, TV>) {
        let p = self.weights(&x.query().0, &x.key().0);
        (Tensor2(x.value().0 * p), Tensor2(p))
    }

    /// As [`Attention::forward_with_scores`] with the masks of the query and the value (Keras's
    /// `mask=[query_mask, value_mask]`): padded value steps get no weight, and the output is
    /// zero at padded query steps.
    pub fn forward_masked_with_scores(
        &self,
        _level: Level,
        x: &X,
        masks: &[Option<&[bool]>],
    ) -> (Tensor2<T, TQ, DV>, Tensor2<T, TQ, TV>) {
        let (query, value) = (masks.first().copied().flatten(), masks.get(1).copied().flatten());
        let mask = ScoreMask { value, ..ScoreMask::causal(CAUSAL) };
        let p = self.weights_masked(&x.query().0, &x.key().0, mask);
        let mut out = x.value().0 * p;
        for (i, mut column) in out.column_iter_mut().enumerate() {
            if query.is_some_and(|m| !m.get(i).copied().unwrap_or(true)) {
                column.fill(T::ZERO);
            }
        }
        (Tensor2(out), Tensor2(p))
    }
}

/// Keras's masks of the query and the value.
impl<
    T: Float,
    X: AttentionInputs<T, TQ, TV, D, DV, D>,
    const TQ: usize,
    const TV: usize,
    const D: usize,
    const DV: usize,
    const MODE: u8,
    const SC: usize,
    const CW: usize,
    const CAUSAL: bool,
> super::MaskedInputs for Attention<T, X, TQ, TV, D, DV, MODE, SC, CW, CAUSAL>
{
    fn forward_masks(&self, level: Level, x: &X, masks: &[Option<&[bool]>]) -> Tensor2<T, TQ, DV> {
        self.forward_masked_with_scores(level, x, masks).0
    }
}

/// Keeps each sample's attention weights; the scores' pieces are recomputed from the inputs.
/// The gradient follows JAX through Keras's operations: the product with the value, the
/// softmax, the mask's `where` (which passes the gradient on unchanged), then the scores.
impl<
    T: Float,
    X: AttentionInputs<T, TQ, TV, D, DV, D>,
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
    /// The weights, and the weights after dropout.
    type Kept = (SMatrix<T, TV, TQ>, SMatrix<T, TV, TQ>);
    const KEPT: Self::Kept = {
        let zero = SMatrix::from_array_storage(nalgebra::ArrayStorage([[T::ZERO; TV]; TQ]));
        (zero, zero)
    };

    fn forward_train(
        &mut self,
        _level: Level,
        xs: &[X],
        ys: &mut [Tensor2<T, TQ, DV>],
        kept: &mut [Self::Kept],
        ctx: &mut Ctx<'_>,
    ) {
        for ((x, y), (p, pd)) in xs.iter().zip(ys).zip(kept) {
            *p = self.weights(&x.query().0, &x.key().0);
            *pd = dropped(p, self.dropout, ctx.rng);
            y.0 = x.value().0 * *pd;
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
            let (dv, ds) = weights_backward((&p.0, &p.1), self.dropout, v, &dy.0);
            let (dq, dk) = self.scores_backward(q, k, &ds, grads.as_deref_mut());
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
    /// From the scores' gradient `ds`, the query's and the key's, and the weights' (added into
    /// `grads`).
    fn scores_backward(
        &self,
        q: &SMatrix<T, D, TQ>,
        k: &SMatrix<T, D, TV>,
        ds: &SMatrix<T, TV, TQ>,
        grads: Option<&mut Self>,
    ) -> (SMatrix<T, D, TQ>, SMatrix<T, D, TV>) {
        if MODE == DOT {
            // s = c (kᵀ q): c's gradient sums ds ⊙ kᵀq.
            if let Some(g) = grads.filter(|_| SC == 1) {
                g.scale[0] += ds.dot(&k.tr_mul(q));
            }
            return dot_backward(q, k, ds, self.factor());
        }
        let (mut dq, mut dk) = (SMatrix::<T, D, TQ>::zeros(), SMatrix::<T, D, TV>::zeros());
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
        (dq, dk)
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

/// `EinsumDense("abc,cde->abde")`: a sequence of `S` steps of `C` projected into `N` heads of
/// `H`, as `MultiHeadAttention` projects its query, key and value (`NH = N·H`).
pub type HeadsProjection<
    T,
    const S: usize,
    const C: usize,
    const N: usize,
    const H: usize,
    const NH: usize,
    const BIAS: bool,
> = EinsumDense<Tensor2<T, S, C>, Tensor3<T, S, N, H>, C, NH, Linear, BIAS, Steps<S>, C, 0, N, H>;

/// `EinsumDense("abcd,cde->abe")`: `N` heads of `H` at each of `S` steps joined into `O`
/// features, as `MultiHeadAttention`'s output (`O1 = O`, `O2 = 0`); or with Keras's
/// `output_shape` of two axes, `EinsumDense("abcd,cdef->abef")` into `O1 × O2 = O` (the same
/// memory, Keras's kernel shape).
pub type HeadsJoin<
    T,
    const S: usize,
    const N: usize,
    const H: usize,
    const NH: usize,
    const O: usize,
    const BIAS: bool,
    const O1: usize,
    const O2: usize,
> = EinsumDense<Tensor3<T, S, N, H>, Tensor2<T, S, O>, NH, O, Linear, BIAS, Steps<S>, N, H, O1, O2>;

/// Keras's `MultiHeadAttention` (and `GroupedQueryAttention`) over `[query, value]` or `[query,
/// value, key]` (`X`): the query (`TQ` steps of `DQ`) projected into `N` heads of `KD`
/// (`NK = N·KD`), the key (`TV` of `DK`) and the value (`TV` of `DV`) into `G` heads of `KD`
/// and `VD` (`GK = G·KD`, `GV = G·VD`; `G = N` for `MultiHeadAttention`, query heads sharing
/// a key and value head in runs of `N/G` for `GroupedQueryAttention`), dot-product attention
/// in each query head scaled by `1/√KD` (with `CAUSAL`, Keras's `use_causal_mask`), the heads
/// joined (`NV = N·VD`) into `O` features. Its weights are its four `EinsumDense` layers',
/// Keras's `query`, `key`, `value` and `attention_output`.
#[derive(Clone, Debug, PartialEq)]
pub struct MultiHeadAttention<
    T: Float,
    X,
    const TQ: usize,
    const TV: usize,
    const DQ: usize,
    const DV: usize,
    const DK: usize,
    const N: usize,
    const G: usize,
    const KD: usize,
    const VD: usize,
    const NK: usize,
    const GK: usize,
    const GV: usize,
    const NV: usize,
    const O: usize,
    const BIAS: bool,
    const CAUSAL: bool,
    Y,
    const O1: usize,
    const O2: usize,
> {
    /// The query's projection, `(DQ, N, KD)`.
    pub query: HeadsProjection<T, TQ, DQ, N, KD, NK, BIAS>,
    /// The key's projection, `(DK, G, KD)`.
    pub key: HeadsProjection<T, TV, DK, G, KD, GK, BIAS>,
    /// The value's projection, `(DV, G, VD)`.
    pub value: HeadsProjection<T, TV, DV, G, VD, GV, BIAS>,
    /// The heads' join, `(N, VD, O)` (or `(N, VD, O1, O2)`): Keras's `attention_output`.
    pub output: HeadsJoin<T, TQ, N, VD, NV, O, BIAS, O1, O2>,
    /// Keras's `dropout`: the fraction of attention weights dropped in training.
    pub dropout: f64,
    _inputs: PhantomData<fn(X) -> (X, Y)>,
}

/// What [`MultiHeadAttention`]'s training pass keeps of a sample: its projections, the
/// attention weights of each head and the heads' outputs before they are joined.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HeadsKept<
    T,
    const TQ: usize,
    const TV: usize,
    const N: usize,
    const NK: usize,
    const GK: usize,
    const GV: usize,
    const NV: usize,
> {
    q: Tensor2<T, TQ, NK>,
    k: Tensor2<T, TV, GK>,
    v: Tensor2<T, TV, GV>,
    p: [SMatrix<T, TV, TQ>; N],
    /// `p` after dropout.
    pd: [SMatrix<T, TV, TQ>; N],
    heads: Tensor2<T, TQ, NV>,
}

/// An impl over every `MultiHeadAttention`, its twenty-one generic parameters written once:
/// `mha_impl!(; [bounds on X] Header { items })`, or `mha_impl!(unsafe; ...)` for an unsafe impl.
macro_rules! mha_impl {
    ($($prefix:ident)? ; [$($bound:tt)*] $($rest:tt)*) => {
        $($prefix)? impl<T: Float, X $($bound)*, const TQ: usize, const TV: usize, const DQ: usize, const DV: usize,
            const DK: usize, const N: usize, const G: usize, const KD: usize, const VD: usize, const NK: usize,
            const GK: usize, const GV: usize, const NV: usize, const O: usize, const BIAS: bool, const CAUSAL: bool,
            Y: Tensor<Scalar = T>, const O1: usize, const O2: usize>
            $($rest)*
    };
}

mha_impl!(; [] MultiHeadAttention<T, X, TQ, TV, DQ, DV, DK, N, G, KD, VD, NK, GK, GV, NV, O, BIAS, CAUSAL, Y, O1, O2> {
    /// Every weight zero.
    pub const ZEROS: Self = MultiHeadAttention {
        query: EinsumDense::ZEROS,
        key: EinsumDense::ZEROS,
        value: EinsumDense::ZEROS,
        output: EinsumDense::ZEROS,
        dropout: 0.0,
        _inputs: PhantomData,
    };

    /// Reads the four projections' weights from raw weight bytes, in Keras's order.
    #[doc(hidden)]
    pub const fn read_le_bytes(&mut self, bytes: &[u8], at: usize) -> usize {
        let at = self.query.read_le_bytes(bytes, at);
        let at = self.key.read_le_bytes(bytes, at);
        let at = self.value.read_le_bytes(bytes, at);
        self.output.read_le_bytes(bytes, at)
    }

    /// Keras's `1 / √key_dim`, computed in double precision as Python does.
    #[inline(always)]
    fn scale() -> T {
        const {
            assert!(NK == N * KD && NV == N * VD && GK == G * KD && GV == G * VD, "MultiHeadAttention: head sizes");
            assert!(G > 0 && N.is_multiple_of(G), "GroupedQueryAttention: query heads in whole runs per key and value head");
            assert!(if O2 == 0 { O1 == O } else { O1 * O2 == O }, "MultiHeadAttention: O1 × O2 output features");
        };
        T::of(1.0 / libm::sqrt(KD as f64))
    }

    /// Each head's attention over the projections, its weights into `p`: the heads' outputs,
    /// side by side.
    #[inline(always)]
    fn attend(
        q: &Tensor2<T, TQ, NK>,
        k: &Tensor2<T, TV, GK>,
        v: &Tensor2<T, TV, GV>,
        p: &mut [SMatrix<T, TV, TQ>; N],
        mask: ScoreMask<'_, T>,
        mut dropout: Option<(&mut [SMatrix<T, TV, TQ>; N], f64, &mut Rng)>,
    ) -> Tensor2<T, TQ, NV> {
        let mut heads = Tensor2::<T, TQ, NV>::ZEROS;
        for (h, p) in p.iter_mut().enumerate() {
            let g = Self::group(h);
            let (qh, kh) = (q.0.fixed_rows::<KD>(h * KD), k.0.fixed_rows::<KD>(g * KD));
            // jax's `dot_product_attention`: the products, then the scale.
            *p = kh.tr_mul(&qh) * Self::scale();
            mask_and_softmax(p, mask);
            // In training, the weights after dropout weigh the values.
            let used = match dropout.as_mut() {
                Some((pd, rate, rng)) => {
                    pd[h] = dropped(p, *rate, rng);
                    pd[h]
                }
                None => *p,
            };
            heads.0.fixed_rows_mut::<VD>(h * VD).copy_from(&(v.0.fixed_rows::<VD>(g * VD) * used));
        }
        heads
    }

    /// The key and value head of query head `h`: Keras repeats each `N/G` times.
    #[inline(always)]
    fn group(h: usize) -> usize {
        h / (N / G)
    }
});

mha_impl!(; [: AttentionInputs<T, TQ, TV, DQ, DV, DK>] Layer for MultiHeadAttention<T, X, TQ, TV, DQ, DV, DK, N, G, KD, VD, NK, GK, GV, NV, O, BIAS, CAUSAL, Y, O1, O2> {
    type Scalar = T;
    type Input = X;
    type Output = Y;
    const CLASS: &'static str = "MultiHeadAttention";
    const PARAMS: usize = DQ * NK + DK * GK + DV * GV + NV * O + if BIAS { NK + GK + GV + O } else { 0 };

    #[inline]
    fn forward(&self, x: &X) -> Y {
        self.forward_at(crate::kernels::cpu::level(), x)
    }

    fn forward_at(&self, level: Level, x: &X) -> Y {
        self.forward_with_scores(level, x).0
    }

    fn init_keras(&mut self, rng: &mut Rng) {
        self.query.init_keras(rng);
        self.key.init_keras(rng);
        self.value.init_keras(rng);
        self.output.init_keras(rng);
    }

    fn init_with(&mut self, rng: &mut Rng, init: &Initializers) {
        self.query.init_with(rng, init);
        self.key.init_with(rng, init);
        self.value.init_with(rng, init);
        self.output.init_with(rng, init);
    }

    fn visit_weights(&self, f: &mut dyn FnMut(WeightRef<'_, T>)) {
        self.query.visit_weights(f);
        self.key.visit_weights(f);
        self.value.visit_weights(f);
        self.output.visit_weights(f);
    }

    fn visit_weights_mut(&mut self, f: &mut dyn FnMut(WeightMut<'_, T>)) {
        self.query.visit_weights_mut(f);
        self.key.visit_weights_mut(f);
        self.value.visit_weights_mut(f);
        self.output.visit_weights_mut(f);
    }
});

mha_impl!(; [: AttentionInputs<T, TQ, TV, DQ, DV, DK>] MultiHeadAttention<T, X, TQ, TV, DQ, DV, DK, N, G, KD, VD, NK, GK, GV, NV, O, BIAS, CAUSAL, Y, O1, O2> {
    /// The output and, as Keras's `return_attention_scores=True` returns them, each query
    /// head's attention weights, `(N, TQ, TV)`.
    pub fn forward_with_scores(&self, level: Level, x: &X) -> (Y, Tensor3<T, N, TQ, TV>) {
        self.forward_masked_with_scores(level, x, &[])
    }

    /// As [`MultiHeadAttention::forward_with_scores`] with the masks of the query, the value
    /// and the key (Keras's `query_mask`, `value_mask`, `key_mask`): the scores of a padded
    /// query step, or of a padded value or key step, are masked.
    pub fn forward_masked_with_scores(
        &self,
        level: Level,
        x: &X,
        masks: &[Option<&[bool]>],
    ) -> (Y, Tensor3<T, N, TQ, TV>) {
        let at = |i: usize| masks.get(i).copied().flatten();
        let mask = ScoreMask { causal: CAUSAL, query: at(0), value: at(1), key: at(2), attention: x.attention_mask() };
        let q = heads(self.query.forward_at(level, x.query()));
        let k = heads(self.key.forward_at(level, x.key()));
        let v = heads(self.value.forward_at(level, x.value()));
        let mut p = [SMatrix::zeros(); N];
        let joined = Self::attend(&q, &k, &v, &mut p, mask, None);
        (*view(&self.output.forward_at(level, &unheads(joined))), Tensor3(p))
    }
});

// Keras's masks of the query, the value and the key.
mha_impl!(; [: AttentionInputs<T, TQ, TV, DQ, DV, DK>] super::MaskedInputs for MultiHeadAttention<T, X, TQ, TV, DQ, DV, DK, N, G, KD, VD, NK, GK, GV, NV, O, BIAS, CAUSAL, Y, O1, O2> {
    fn forward_masks(&self, level: Level, x: &X, masks: &[Option<&[bool]>]) -> Y {
        self.forward_masked_with_scores(level, x, masks).0
    }
});

/// A projection's output, its heads side by side on each step.
#[inline(always)]
fn heads<T: Float, const S: usize, const N: usize, const H: usize, const NH: usize>(
    y: Tensor3<T, S, N, H>,
) -> Tensor2<T, S, NH> {
    cast_slice::<_, Tensor2<T, S, NH>>(core::slice::from_ref(&y))[0]
}

/// The heads side by side as the output join's input.
#[inline(always)]
fn unheads<T: Float, const S: usize, const N: usize, const H: usize, const NH: usize>(
    x: Tensor2<T, S, NH>,
) -> Tensor3<T, S, N, H> {
    cast_slice::<_, Tensor3<T, S, N, H>>(core::slice::from_ref(&x))[0]
}

// Keeps the projections, each head's weights and the heads' outputs; the projections' own
// passes (Dense's, on one sample's steps) run inside. Each head's gradient is the dot-product
// attention's, scaled by `1/√KD`.
mha_impl!(; [: AttentionInputs<T, TQ, TV, DQ, DV, DK>] Train for MultiHeadAttention<T, X, TQ, TV, DQ, DV, DK, N, G, KD, VD, NK, GK, GV, NV, O, BIAS, CAUSAL, Y, O1, O2> {
    type Kept = HeadsKept<T, TQ, TV, N, NK, GK, GV, NV>;
    const KEPT: Self::Kept = HeadsKept {
        q: Tensor2::from_rows([[T::ZERO; NK]; TQ]),
        k: Tensor2::from_rows([[T::ZERO; GK]; TV]),
        v: Tensor2::from_rows([[T::ZERO; GV]; TV]),
        p: [SMatrix::from_array_storage(nalgebra::ArrayStorage([[T::ZERO; TV]; TQ])); N],
        pd: [SMatrix::from_array_storage(nalgebra::ArrayStorage([[T::ZERO; TV]; TQ])); N],
        heads: Tensor2::from_rows([[T::ZERO; NV]; TQ]),
    };

    fn forward_train(
        &mut self,
        level: Level,
        xs: &[X],
        ys: &mut [Y],
        kept: &mut [Self::Kept],
        ctx: &mut Ctx<'_>,
    ) {
        for ((x, y), kept) in xs.iter().zip(ys).zip(kept) {
            kept.q = heads(self.query.forward_at(level, x.query()));
            kept.k = heads(self.key.forward_at(level, x.key()));
            kept.v = heads(self.value.forward_at(level, x.value()));
            let dropout = Some((&mut kept.pd, self.dropout, &mut *ctx.rng));
            let mask = ScoreMask { attention: x.attention_mask(), ..ScoreMask::causal(CAUSAL) };
            kept.heads = Self::attend(&kept.q, &kept.k, &kept.v, &mut kept.p, mask, dropout);
            *y = *view(&self.output.forward_at(level, &unheads(kept.heads)));
        }
    }

    fn backward(
        &self,
        level: Level,
        xs: &[X],
        ys: &[Y],
        kept: &[Self::Kept],
        dys: &mut [Y],
        mut dxs: Option<&mut [X]>,
        mut grads: Option<&mut Self>,
    ) {
        // The output as the join made it: steps of `O` features.
        let (ys, dys) = (cast_slice::<Y, Tensor2<T, TQ, O>>(ys), cast_slice_mut::<Y, Tensor2<T, TQ, O>>(dys));
        for (s, ((x, kept), (y, dy))) in xs.iter().zip(kept).zip(ys.iter().zip(dys.iter_mut())).enumerate() {
            let g = grads.as_deref_mut();
            let (mut gq, mut gk, mut gv, mut go) = match g {
                Some(g) => (Some(&mut g.query), Some(&mut g.key), Some(&mut g.value), Some(&mut g.output)),
                None => (None, None, None, None),
            };
            // The join: its weights' gradient and the heads'. Its activation is linear, so what
            // Dense keeps (the pre-activation) is its output.
            let mut dheads = [unheads(Tensor2::<T, TQ, NV>::ZEROS)];
            let one = core::slice::from_mut(dy);
            self.output.backward(level, &[unheads(kept.heads)], core::slice::from_ref(y), core::slice::from_ref(y), one, Some(&mut dheads), go.take());
            let dheads = heads::<T, TQ, N, VD, NV>(dheads[0]);
            let (mut dq, mut dk, mut dv) =
                (Tensor2::<T, TQ, NK>::ZEROS, Tensor2::<T, TV, GK>::ZEROS, Tensor2::<T, TV, GV>::ZEROS);
            for (h, (p, pd)) in kept.p.iter().zip(&kept.pd).enumerate() {
                let g = Self::group(h);
                let vh = kept.v.0.fixed_rows::<VD>(g * VD).into_owned();
                let dh = dheads.0.fixed_rows::<VD>(h * VD).into_owned();
                let (dvh, ds) = weights_backward((p, pd), self.dropout, &vh, &dh);
                let qh = kept.q.0.fixed_rows::<KD>(h * KD).into_owned();
                let kh = kept.k.0.fixed_rows::<KD>(g * KD).into_owned();
                let (dqh, dkh) = dot_backward(&qh, &kh, &ds, Self::scale());
                dq.0.fixed_rows_mut::<KD>(h * KD).copy_from(&dqh);
                // A key and value head gathers the gradients of every query head sharing it.
                let mut dkg = dk.0.fixed_rows_mut::<KD>(g * KD);
                dkg += dkh;
                let mut dvg = dv.0.fixed_rows_mut::<VD>(g * VD);
                dvg += dvh;
            }
            // The projections: each input's gradient, added into the caller's.
            let (mut dxq, mut dxk, mut dxv) = (Tensor2::ZEROS, Tensor2::ZEROS, Tensor2::ZEROS);
            let (yq, yk, yv) = (unheads(kept.q), unheads(kept.k), unheads(kept.v));
            let mut dq = [unheads(dq)];
            self.query.backward(level, core::slice::from_ref(x.query()), &[yq], &[kept.q], &mut dq, Some(core::slice::from_mut(&mut dxq)), gq.take());
            let mut dk = [unheads(dk)];
            self.key.backward(level, core::slice::from_ref(x.key()), &[yk], &[kept.k], &mut dk, Some(core::slice::from_mut(&mut dxk)), gk.take());
            let mut dv = [unheads(dv)];
            self.value.backward(level, core::slice::from_ref(x.value()), &[yv], &[kept.v], &mut dv, Some(core::slice::from_mut(&mut dxv)), gv.take());
            if let Some(dx) = dxs.as_deref_mut().and_then(|d| d.get_mut(s)) {
                dx.add_grads(&dxq.0, &dxv.0, &dxk.0);
            }
        }
    }
});

// SAFETY: four `Zeroable` EinsumDense layers (float matrices and a zero-sized activation) and
// a marker.
mha_impl!(unsafe; [] Zeroable for MultiHeadAttention<T, X, TQ, TV, DQ, DV, DK, N, G, KD, VD, NK, GK, GV, NV, O, BIAS, CAUSAL, Y, O1, O2> {});

#[cfg(test)]
mod tests {
    // The references index query steps, value steps and channels as Keras's formulas do.
    #![allow(clippy::needless_range_loop)]
    use super::*;
    use crate::tensor::{Tensor, Tensors};
    use alloc::vec::Vec;

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
    /// The training pass's output, its random draws from a generator seeded with 0.
    fn train_output<L: Train<Output = Tensor2<f64, 3, S>, Scalar = f64> + Clone, const S: usize>(
        layer: &L,
        x: L::Input,
    ) -> (Tensor2<f64, 3, S>, L::Kept) {
        let (mut l, mut rng) = (layer.clone(), Rng::new(0));
        let mut ctx = Ctx { trainable: true, rng: &mut rng, penalty: &mut 0.0 };
        let (mut y, mut kept) = ([Tensor2::ZEROS], [L::KEPT]);
        l.forward_train(Level::Portable, core::slice::from_ref(&x), &mut y, &mut kept, &mut ctx);
        (y[0], kept[0])
    }

    /// `Σ r ⊙ out` of the training pass (its draws fixed by the seed, so a dropout mask is the
    /// same on every call) and its gradient by the backward pass: the inputs' and the weights',
    /// checked against central differences.
    fn check_gradients<L, X, const S: usize>(layer: L, zeros: L, x: X)
    where
        L: Train<Input = X, Output = Tensor2<f64, 3, S>, Scalar = f64> + Clone,
        X: Tensors<f64>,
    {
        let r = seq::<3, S>(9);
        let loss = |l: &L, x: &X| -> f64 {
            train_output(l, *x).0.as_slice().iter().zip(r.as_slice()).map(|(a, b)| a * b).sum()
        };
        let mut grads = zeros;
        let (y, kept) = train_output(&layer, x);
        let mut dx = [X::ZEROED];
        layer.backward(Level::Portable, &[x], &[y], &[kept], &mut [r], Some(&mut dx), Some(&mut grads));
        let h = 1e-6;
        let close = |got: f64, want: f64, what: &str| {
            assert!((got - want).abs() <= 1e-7 * (1.0 + want.abs()), "{what}: {got} vs {want}");
        };
        for part in 0..X::COUNT {
            let n = X::len_of(part);
            for i in 0..n {
                let shifted = |delta: f64| {
                    let (mut x2, mut v) = (x, alloc::vec![0.0; n]);
                    x.write_flat(part, &mut v);
                    v[i] += delta;
                    x2.read_flat(part, &v).unwrap();
                    loss(&layer, &x2)
                };
                let want = (shifted(h) - shifted(-h)) / (2.0 * h);
                let mut got = alloc::vec![0.0; n];
                dx[0].write_flat(part, &mut got);
                close(got[i], want, &alloc::format!("input {part} [{i}]"));
            }
        }
        let flat_of = |l: &L| {
            let mut flat = Vec::new();
            l.visit_weights(&mut |w| flat.extend_from_slice(w.data));
            flat
        };
        let (flat, got) = (flat_of(&layer), flat_of(&grads));
        for i in 0..flat.len() {
            let shifted = |delta: f64| {
                let (mut l2, mut w) = (layer.clone(), flat.clone());
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
        check_gradients(dot, Attention::ZEROS, (q, v, k));
        check_gradients(
            Attention::<f64, Pair, 3, 4, 2, 2, DOT, 0, 0, false>::ZEROS,
            Attention::ZEROS,
            (q, k),
        );
        let mut concat = Attention::<f64, Pair, 3, 4, 2, 2, CONCAT, 1, 1, false>::ZEROS;
        (concat.scale, concat.concat_score_weight) = ([0.9], [1.4]);
        check_gradients(concat, Attention::ZEROS, (q, k));
        let mut additive = Attention::<f64, Triple, 3, 4, 2, 3, ADDITIVE, 2, 0, true>::ZEROS;
        additive.scale = [0.6, -1.1];
        check_gradients(additive, Attention::ZEROS, (q, v, k));
        check_gradients(
            Attention::<f64, Pair, 3, 4, 2, 2, ADDITIVE, 0, 0, false>::ZEROS,
            Attention::ZEROS,
            (q, k),
        );
    }

    /// Query (3, 2), value (4, 3), key (4, 2); two heads of 2 (query, key) and 3 (value); 2
    /// features out.
    type Heads<const CAUSAL: bool> = MultiHeadAttention<
        f64,
        Triple,
        3,
        4,
        2,
        3,
        2,
        2,
        2,
        2,
        3,
        4,
        4,
        6,
        6,
        2,
        true,
        CAUSAL,
        Tensor2<f64, 3, 2>,
        2,
        0,
    >;
    /// As [`Heads`] with four query heads over two key and value heads.
    type Grouped = MultiHeadAttention<
        f64,
        Triple,
        3,
        4,
        2,
        3,
        2,
        4,
        2,
        2,
        3,
        8,
        4,
        6,
        12,
        2,
        true,
        true,
        Tensor2<f64, 3, 2>,
        2,
        0,
    >;

    fn random_weights<L: Layer<Scalar = f64>>(mut layer: L) -> L {
        let mut rng = Rng::new(11);
        layer.visit_weights_mut(&mut |w| w.data.iter_mut().for_each(|v| *v = rng.next_f64() - 0.5));
        layer
    }

    /// Keras's computation in plain loops, `n` query heads over `g` key and value heads (of 2
    /// and 3): projections, per-head scaled dot products, the mask, the softmax, the weighted
    /// values, the join.
    fn heads_reference(
        l: &impl Layer<Scalar = f64>,
        x: &Triple,
        (n, g): (usize, usize),
        causal: bool,
    ) -> [[f64; 2]; 3] {
        let mut w = Vec::new();
        l.visit_weights(&mut |v| w.push(v.data.to_vec()));
        // kernel (in, heads·size) then bias, per projection.
        let project =
            |kernel: &[f64], bias: &[f64], rows: &[f64], width: usize, out: usize| -> Vec<Vec<f64>> {
                rows.chunks(width)
                    .map(|r| {
                        (0..out)
                            .map(|o| bias[o] + (0..width).map(|c| r[c] * kernel[c * out + o]).sum::<f64>())
                            .collect()
                    })
                    .collect()
            };
        let q = project(&w[0], &w[1], x.0.as_slice(), 2, n * 2);
        let k = project(&w[2], &w[3], x.2.as_slice(), 2, g * 2);
        let v = project(&w[4], &w[5], x.1.as_slice(), 3, g * 3);
        let mut joined = alloc::vec![alloc::vec![0.0; n * 3]; 3];
        for h in 0..n {
            let kv = h / (n / g);
            for i in 0..3 {
                let mut s: Vec<f64> = (0..4)
                    .map(|j| (0..2).map(|d| q[i][h * 2 + d] * k[j][kv * 2 + d]).sum::<f64>() / 2f64.sqrt())
                    .collect();
                if causal {
                    s.iter_mut().skip(i + 1).for_each(|x| *x -= 1e9);
                }
                let max = s.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x));
                let e: Vec<f64> = s.iter().map(|x| (x - max).exp()).collect();
                let sum: f64 = e.iter().sum();
                for c in 0..3 {
                    joined[i][h * 3 + c] = (0..4).map(|j| e[j] / sum * v[j][kv * 3 + c]).sum();
                }
            }
        }
        let out = project(&w[6], &w[7], &joined.concat(), n * 3, 2);
        core::array::from_fn(|i| [out[i][0], out[i][1]])
    }

    #[test]
    fn multi_head_attention_follows_keras_s_computation() {
        let x = (seq::<3, 2>(1), seq::<4, 3>(2), seq::<4, 2>(3));
        let (plain, causal) = (random_weights(Heads::<false>::ZEROS), random_weights(Heads::<true>::ZEROS));
        assert_close(&plain.forward(&x), heads_reference(&plain, &x, (2, 2), false));
        assert_close(&causal.forward(&x), heads_reference(&causal, &x, (2, 2), true));
        let grouped = random_weights(Grouped::ZEROS);
        assert_close(&grouped.forward(&x), heads_reference(&grouped, &x, (4, 2), true));
        // Keras's count: kernels (2·4, 2·4, 3·6, 6·2) and biases (4, 4, 6, 2).
        assert_eq!(<Heads<false> as Layer>::PARAMS, 8 + 8 + 18 + 12 + 4 + 4 + 6 + 2);
        assert_eq!(<Grouped as Layer>::PARAMS, 16 + 8 + 18 + 24 + 8 + 4 + 6 + 2);
        let mut shapes = Vec::new();
        Heads::<false>::ZEROS.visit_weights(&mut |w| shapes.push(w.shape));
        let want: [&[usize]; 8] =
            [&[2, 2, 2], &[2, 2], &[2, 2, 2], &[2, 2], &[3, 2, 3], &[2, 3], &[2, 3, 2], &[2]];
        assert_eq!(shapes, want);
    }

    #[test]
    fn without_dropout_the_training_pass_is_the_inference_pass() {
        let x = (seq::<3, 2>(4), seq::<4, 3>(5), seq::<4, 2>(6));
        let layer = random_weights(Grouped::ZEROS);
        // The inference pass at this CPU's level: the same output to rounding.
        assert!((train_output(&layer, x).0.0 - layer.forward(&x).0).amax() < 1e-12);
        let mut one = Attention::<f64, Triple, 3, 4, 2, 3, DOT, 1, 0, true>::ZEROS;
        one.scale = [0.8];
        assert!((train_output(&one, x).0.0 - one.forward(&x).0).amax() < 1e-12);
    }

    #[test]
    fn dropout_drops_weights_in_training_and_its_gradient_follows_the_mask() {
        let x = (seq::<3, 2>(4), seq::<4, 3>(5), seq::<4, 2>(6));
        let mut heads = random_weights(Grouped::ZEROS);
        heads.dropout = 0.4;
        let (y, kept) = train_output(&heads, x);
        assert!((y.0 - heads.forward(&x).0).amax() > 1e-3, "dropout changes the training output");
        // Some of the causal weights that are not 0 dropped, the kept ones scaled by 1 / 0.6.
        let (mut kept_n, mut dropped_n) = (0, 0);
        for (p, pd) in kept.p.iter().zip(&kept.pd) {
            for (w, d) in p.iter().zip(pd.iter()).filter(|(w, _)| **w > 0.0) {
                if *d == 0.0 {
                    dropped_n += 1;
                } else {
                    assert!((d - w / 0.6).abs() < 1e-15);
                    kept_n += 1;
                }
            }
        }
        assert!(kept_n > 0 && dropped_n > 0, "{kept_n} kept, {dropped_n} dropped");
        check_gradients(heads, Grouped::ZEROS, x);
        let mut one = Attention::<f64, Triple, 3, 4, 2, 3, ADDITIVE, 2, 0, false>::ZEROS;
        (one.scale, one.dropout) = ([0.7, -0.4], 0.3);
        check_gradients(one, Attention::ZEROS, x);
    }

    #[test]
    fn multi_head_attention_s_backward_pass_matches_finite_differences() {
        let x = (seq::<3, 2>(4), seq::<4, 3>(5), seq::<4, 2>(6));
        check_gradients(random_weights(Heads::<true>::ZEROS), Heads::ZEROS, x);
        check_gradients(random_weights(Heads::<false>::ZEROS), Heads::ZEROS, x);
        check_gradients(random_weights(Grouped::ZEROS), Grouped::ZEROS, x);
    }
}
