//! `Dropout`, `SpatialDropout1D/2D/3D`, `GaussianNoise`, `GaussianDropout`, `AlphaDropout` and
//! `ActivityRegularization`: layers that only act while training, so at inference each is its
//! input unchanged (inside a model, a view of its input that costs nothing). While training
//! they run as Keras 3 does with `training=True` (`keras/src/layers/regularization/`), their
//! random draws from the training pass's generator ([`Ctx::rng`]): the same seed gives the same
//! masks and noise. Keras's `trainable=False` does not stop them; only inference does.

use crate::Float;
use crate::init::Rng;
use crate::kernels::cpu::Level;
use crate::layer::{Layer, Zeroable};
use crate::tensor::Tensor;
use crate::train::{Ctx, Train};
use core::marker::PhantomData;

macro_rules! identity_layer {
    (
        $(#[$doc:meta])* $name:ident, $classes:expr,
        { $( $(#[$field_doc:meta])* $field:ident: $ty:ty = $default:expr ),* $(,)? }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub struct $name<X> {
            $( $(#[$field_doc])* pub $field: $ty, )*
            _shapes: PhantomData<fn(X) -> X>,
        }

        impl<X> $name<X> {
            /// The layer with Keras's defaults; the macros set the options from the model.
            pub const ZEROS: Self = Self { $( $field: $default, )* _shapes: PhantomData };

            /// Reads nothing: the layer has no weights. Kept so the macros treat every layer
            /// alike.
            #[doc(hidden)]
            pub const fn read_le_bytes(&mut self, _bytes: &[u8], at: usize) -> usize {
                at
            }
        }

        impl<X: Tensor> Layer for $name<X> {
            type Scalar = X::Scalar;
            type Input = X;
            type Output = X;
            const CLASS: &'static str = {
                let classes: [&str; 3] = $classes;
                match X::SHAPE.len() {
                    3 => classes[1],
                    4 => classes[2],
                    _ => classes[0],
                }
            };
            const PARAMS: usize = 0;

            #[inline(always)]
            fn forward(&self, x: &X) -> X {
                *x
            }
        }

        // SAFETY: `f64`s and `bool`s, for which all zero bits are valid values.
        unsafe impl<X> Zeroable for $name<X> {}
    };
}

identity_layer! {
    /// `Dropout`: while training, zeroes each value with probability `rate` and divides the
    /// others by `1 - rate` (Keras's `random.dropout`); the identity at inference.
    Dropout, ["Dropout"; 3],
    {
        /// The fraction of values dropped.
        rate: f64 = 0.0,
        /// Keras's `noise_shape`: the axes (batch axis first, then the tensor's) along which
        /// one draw is shared, where `noise_shape` has a 1.
        shared: [bool; 6] = [false; 6],
    }
}

identity_layer! {
    /// `SpatialDropout1D` over a sequence, `SpatialDropout2D` over an image, `SpatialDropout3D`
    /// over a volume: while training, drops whole channels of a sample (one draw per sample
    /// and channel, Keras's `noise_shape` of `(batch, 1, channels)`, `(batch, 1, 1, channels)`
    /// or `(batch, 1, 1, 1, channels)`); the identity at inference.
    SpatialDropout, ["SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D"],
    {
        /// The fraction of channels dropped.
        rate: f64 = 0.0,
    }
}

identity_layer! {
    /// `GaussianNoise`: while training, adds noise drawn from `N(0, stddev)`; the identity at
    /// inference.
    GaussianNoise, ["GaussianNoise"; 3],
    {
        /// The deviation of the noise.
        stddev: f64 = 0.0,
    }
}

identity_layer! {
    /// `GaussianDropout`: while training, multiplies by noise drawn from
    /// `N(1, sqrt(rate / (1 - rate)))`; the identity at inference.
    GaussianDropout, ["GaussianDropout"; 3],
    {
        /// The drop probability the noise's deviation is derived from.
        rate: f64 = 0.0,
    }
}

identity_layer! {
    /// `AlphaDropout`: while training, sets a random `rate` of the values to SELU's negative
    /// saturation and rescales so that the mean and variance stay; the identity at inference.
    AlphaDropout, ["AlphaDropout"; 3],
    {
        /// The fraction of values dropped.
        rate: f64 = 0.0,
        /// Keras's `noise_shape`, as [`Dropout::shared`].
        shared: [bool; 6] = [false; 6],
    }
}

identity_layer! {
    /// `ActivityRegularization`: adds `(l1 · Σ|x| + l2 · Σx²) / batch` to the training loss
    /// (Keras's activity regularizer, over the whole batch and normalized by its size); the
    /// identity.
    ///
    /// The penalty reaches training through the gradient only: the backward pass adds its
    /// derivative to the gradient it passes on, but the loss a trainer reports (`fit`'s logs)
    /// does not include the penalty, which Keras's does: the `Train` contract has no way for a
    /// layer to add to the loss.
    ActivityRegularization, ["ActivityRegularization"; 3],
    {
        /// The weight of the sum of absolute values.
        l1: f64 = 0.0,
        /// The weight of the sum of squares.
        l2: f64 = 0.0,
    }
}

/// Fills every sample of `noise` with `draw()`, one draw per position of Keras's `noise_shape`:
/// along an axis marked in `shared` (the batch axis first, then the tensor's), every position
/// copies the draw at index 0 of that axis.
fn draw_noise<X: Tensor>(noise: &mut [X], shared: [bool; 6], mut draw: impl FnMut() -> X::Scalar) {
    for s in 0..noise.len() {
        if s > 0 && shared[0] {
            noise[s] = noise[0];
            continue;
        }
        let values = noise[s].as_mut_slice();
        for j in 0..values.len() {
            // The index of the first draw along every shared axis: `j`'s own index on every
            // other axis, 0 on the shared ones.
            let (mut rest, mut from, mut stride) = (j, 0, 1);
            for (k, &n) in X::SHAPE.iter().enumerate().rev() {
                let n = n.max(1);
                if !shared[k + 1] {
                    from += rest % n * stride;
                }
                (rest, stride) = (rest / n, stride * n);
            }
            // Every index sharing a draw comes after the one that made it.
            values[j] = if from < j { values[from] } else { draw() };
        }
    }
}

fn dropout_masks<X: Tensor>(masks: &mut [X], rate: f64, shared: [bool; 6], rng: &mut Rng) {
    let keep = 1.0 - rate;
    if rate > 0.0 {
        draw_noise(masks, shared, || if rng.next_f64() < keep { X::Scalar::ONE } else { X::Scalar::ZERO });
    } else {
        masks.fill(fill::<X>(X::Scalar::ONE));
    }
}

/// A tensor holding `v` everywhere.
fn fill<X: Tensor>(v: X::Scalar) -> X {
    let mut x = X::ZEROS;
    x.as_mut_slice().fill(v);
    x
}

/// `ys[i] = f(xs[i], kept[i])` elementwise, over the batch.
#[inline(always)]
fn zip_map<X: Tensor>(xs: &[X], kept: &[X], ys: &mut [X], f: impl Fn(X::Scalar, X::Scalar) -> X::Scalar) {
    for ((x, k), y) in xs.iter().zip(kept).zip(ys) {
        for ((x, k), y) in x.as_slice().iter().zip(k.as_slice()).zip(y.as_mut_slice()) {
            *y = f(*x, *k);
        }
    }
}

/// `dxs[i] += f(dys[i], kept[i])` elementwise, if there is a `dx` to add into.
#[inline(always)]
fn add_grad<X: Tensor>(
    dys: &[X],
    kept: &[X],
    dxs: Option<&mut [X]>,
    f: impl Fn(X::Scalar, X::Scalar) -> X::Scalar,
) {
    let Some(dxs) = dxs else { return };
    for ((dy, k), dx) in dys.iter().zip(kept).zip(dxs) {
        for ((dy, k), dx) in dy.as_slice().iter().zip(k.as_slice()).zip(dx.as_mut_slice()) {
            *dx += f(*dy, *k);
        }
    }
}

/// Dropout's forward and backward passes over a mask, shared by `Dropout` and
/// `SpatialDropout`: `select(mask, x / (1 - rate), 0)` as Keras's JAX `dropout`, whose
/// derivative is `select(mask, dy / (1 - rate), 0)`.
fn dropout_apply<X: Tensor>(xs: &[X], masks: &[X], ys: &mut [X], rate: f64) {
    let keep = X::Scalar::of(1.0 - rate);
    zip_map(xs, masks, ys, |x, m| if m != X::Scalar::ZERO { x / keep } else { X::Scalar::ZERO });
}

/// See [`dropout_apply`].
fn dropout_grad<X: Tensor>(dys: &[X], masks: &[X], dxs: Option<&mut [X]>, rate: f64) {
    let keep = X::Scalar::of(1.0 - rate);
    add_grad(dys, masks, dxs, |dy, m| if m != X::Scalar::ZERO { dy / keep } else { X::Scalar::ZERO });
}

/// Keeps the mask: 1 where a value was kept, 0 where it was dropped.
impl<X: Tensor> Train for Dropout<X> {
    type Kept = X;
    const KEPT: X = X::ZEROS;

    fn forward_train(&mut self, _level: Level, xs: &[X], ys: &mut [X], kept: &mut [X], ctx: &mut Ctx<'_>) {
        dropout_masks(kept, self.rate, self.shared, ctx.rng);
        dropout_apply(xs, kept, ys, self.rate);
    }

    fn backward(
        &self,
        _level: Level,
        _xs: &[X],
        _ys: &[X],
        kept: &[X],
        dys: &mut [X],
        dxs: Option<&mut [X]>,
        _grads: Option<&mut Self>,
    ) {
        dropout_grad(dys, kept, dxs, self.rate);
    }
}

/// Keeps the mask, each channel's draw repeated over the sample's steps or pixels.
impl<X: Tensor> Train for SpatialDropout<X> {
    type Kept = X;
    const KEPT: X = X::ZEROS;

    fn forward_train(&mut self, _level: Level, xs: &[X], ys: &mut [X], kept: &mut [X], ctx: &mut Ctx<'_>) {
        // Keras's noise shape: the batch and channel axes drawn, every axis between shared.
        let mut shared = [false; 6];
        shared[1..X::SHAPE.len()].fill(true);
        dropout_masks(kept, self.rate, shared, ctx.rng);
        dropout_apply(xs, kept, ys, self.rate);
    }

    fn backward(
        &self,
        _level: Level,
        _xs: &[X],
        _ys: &[X],
        kept: &[X],
        dys: &mut [X],
        dxs: Option<&mut [X]>,
        _grads: Option<&mut Self>,
    ) {
        dropout_grad(dys, kept, dxs, self.rate);
    }
}

/// Keeps nothing: the noise is added, so `dx = dy`.
impl<X: Tensor> Train for GaussianNoise<X> {
    type Kept = ();
    const KEPT: () = ();

    fn forward_train(&mut self, _level: Level, xs: &[X], ys: &mut [X], _kept: &mut [()], ctx: &mut Ctx<'_>) {
        let stddev = X::Scalar::of(self.stddev);
        let active = self.stddev > 0.0;
        for (x, y) in xs.iter().zip(ys) {
            *y = *x;
            if active {
                // Keras: `x + (normal · stddev + 0)`, the noise in the element type.
                for v in y.as_mut_slice() {
                    *v += X::Scalar::of(ctx.rng.next_normal()) * stddev + X::Scalar::ZERO;
                }
            }
        }
    }

    fn backward(
        &self,
        _level: Level,
        _xs: &[X],
        _ys: &[X],
        _kept: &[()],
        dys: &mut [X],
        dxs: Option<&mut [X]>,
        _grads: Option<&mut Self>,
    ) {
        let Some(dxs) = dxs else { return };
        for (dx, dy) in dxs.iter_mut().zip(dys.iter()) {
            for (d, g) in dx.as_mut_slice().iter_mut().zip(dy.as_slice()) {
                *d += *g;
            }
        }
    }
}

/// Keeps the noise each value was multiplied by.
impl<X: Tensor> Train for GaussianDropout<X> {
    type Kept = X;
    const KEPT: X = X::ZEROS;

    fn forward_train(&mut self, _level: Level, xs: &[X], ys: &mut [X], kept: &mut [X], ctx: &mut Ctx<'_>) {
        if self.rate > 0.0 {
            // Keras: `normal · stddev + 1` in the element type, `stddev` in Python's floats.
            let stddev = X::Scalar::of(libm::sqrt(self.rate / (1.0 - self.rate)));
            draw_noise(kept, [false; 6], || X::Scalar::of(ctx.rng.next_normal()) * stddev + X::Scalar::ONE);
        } else {
            kept.fill(fill::<X>(X::Scalar::ONE));
        }
        zip_map(xs, kept, ys, |x, noise| x * noise);
    }

    fn backward(
        &self,
        _level: Level,
        _xs: &[X],
        _ys: &[X],
        kept: &[X],
        dys: &mut [X],
        dxs: Option<&mut [X]>,
        _grads: Option<&mut Self>,
    ) {
        add_grad(dys, kept, dxs, |dy, noise| dy * noise);
    }
}

/// SELU's `alpha` and `scale`, as Keras's `AlphaDropout` writes them.
const SELU_ALPHA: f64 = 1.6732632423543772;
const SELU_SCALE: f64 = 1.0507009873554805;

impl<X: Tensor> AlphaDropout<X> {
    /// Keras's affine correction `(a, b)` and the value dropped ones take, `alpha_p`, all in
    /// Python's floats: `a = ((1 - rate)(1 + rate · alpha_p²))^-1/2`, `b = -a · alpha_p · rate`.
    fn affine(&self) -> (f64, f64, f64) {
        let alpha_p = -SELU_ALPHA * SELU_SCALE;
        let a = libm::pow((1.0 - self.rate) * (1.0 + self.rate * alpha_p * alpha_p), -0.5);
        (a, -a * alpha_p * self.rate, alpha_p)
    }
}

/// Keeps the mask: 1 where a value was kept (a uniform draw at least `rate`, as Keras's
/// `greater_equal(uniform, rate)`), 0 where it was set to `alpha_p`.
impl<X: Tensor> Train for AlphaDropout<X> {
    type Kept = X;
    const KEPT: X = X::ZEROS;

    fn forward_train(&mut self, _level: Level, xs: &[X], ys: &mut [X], kept: &mut [X], ctx: &mut Ctx<'_>) {
        if self.rate > 0.0 {
            let rate = self.rate;
            draw_noise(kept, self.shared, || {
                if ctx.rng.next_f64() >= rate { X::Scalar::ONE } else { X::Scalar::ZERO }
            });
            let (a, b, alpha_p) = self.affine();
            let (a, b, alpha_p) = (X::Scalar::of(a), X::Scalar::of(b), X::Scalar::of(alpha_p));
            // Keras: `x · kept + alpha_p · (1 - kept)`, then `a · that + b`.
            zip_map(xs, kept, ys, |x, m| a * (x * m + alpha_p * (X::Scalar::ONE - m)) + b);
        } else {
            // Keras returns the input unchanged, drawing nothing.
            kept.fill(fill::<X>(X::Scalar::ONE));
            zip_map(xs, kept, ys, |x, _| x);
        }
    }

    fn backward(
        &self,
        _level: Level,
        _xs: &[X],
        _ys: &[X],
        kept: &[X],
        dys: &mut [X],
        dxs: Option<&mut [X]>,
        _grads: Option<&mut Self>,
    ) {
        let a = if self.rate > 0.0 { X::Scalar::of(self.affine().0) } else { X::Scalar::ONE };
        add_grad(dys, kept, dxs, |dy, m| a * dy * m);
    }
}

/// Keeps nothing: the penalty's derivative reads the input.
impl<X: Tensor> Train for ActivityRegularization<X> {
    type Kept = ();
    const KEPT: () = ();

    /// The identity, adding `(l1 · Σ|x| + l2 · Σx²) / batch` to the step's penalty.
    fn forward_train(&mut self, _level: Level, xs: &[X], ys: &mut [X], _kept: &mut [()], ctx: &mut Ctx<'_>) {
        let (l1, l2) = (X::Scalar::of(self.l1), X::Scalar::of(self.l2));
        let (mut abs, mut squares) = (X::Scalar::ZERO, X::Scalar::ZERO);
        for (x, y) in xs.iter().zip(ys) {
            *y = *x;
            for &v in x.as_slice() {
                abs += if v < X::Scalar::ZERO { -v } else { v };
                squares += v * v;
            }
        }
        // Keras's `L1L2` regularizer: the two terms only where their weight is not zero.
        let mut penalty = X::Scalar::ZERO;
        if self.l1 != 0.0 {
            penalty += l1 * abs;
        }
        if self.l2 != 0.0 {
            penalty += l2 * squares;
        }
        *ctx.penalty += (penalty / X::Scalar::of(xs.len().max(1) as f64)).as_f64();
    }

    /// `dx = dy + (l1 · sign(x) + 2 · l2 · x) / batch`: JAX's derivative of the penalty, whose
    /// `|x|` has slope 1 at 0 (`select(x >= 0, g, -g)`).
    fn backward(
        &self,
        _level: Level,
        xs: &[X],
        _ys: &[X],
        _kept: &[()],
        dys: &mut [X],
        dxs: Option<&mut [X]>,
        _grads: Option<&mut Self>,
    ) {
        let n = X::Scalar::of(xs.len() as f64);
        let (l1, l2) = (X::Scalar::of(self.l1), X::Scalar::of(self.l2));
        let two = X::Scalar::of(2.0);
        add_grad(dys, xs, dxs, |dy, x| {
            let sign = if x >= X::Scalar::ZERO { X::Scalar::ONE } else { -X::Scalar::ONE };
            dy + (l1 * sign + l2 * (two * x)) / n
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::{Tensor2, Tensor3};

    #[test]
    fn every_one_is_its_input_and_named_by_rank() {
        let x = Tensor2::<f32, 2, 3>::from_slice(&[1.0, -2.0, 3.0, 4.0, 5.0, -6.0]);
        assert_eq!(Dropout::ZEROS.forward(&x), x);
        assert_eq!(AlphaDropout::ZEROS.forward(&x), x);
        assert_eq!(<SpatialDropout<Tensor2<f32, 2, 3>> as Layer>::CLASS, "SpatialDropout1D");
        assert_eq!(<SpatialDropout<Tensor3<f32, 1, 2, 3>> as Layer>::CLASS, "SpatialDropout2D");
        assert_eq!(<GaussianNoise<Tensor3<f32, 1, 2, 3>> as Layer>::CLASS, "GaussianNoise");
    }

    fn ctx<'a>(rng: &'a mut Rng, penalty: &'a mut f64) -> Ctx<'a> {
        Ctx { trainable: false, rng, penalty }
    }

    #[test]
    fn noise_shape_shares_a_draw_along_its_ones() {
        let mut count = 0.0;
        let mut counter = || {
            count += 1.0;
            count
        };
        // `noise_shape = (None, 1, 3)` on two samples of (2, 3): one draw per channel.
        let mut noise = [Tensor2::<f64, 2, 3>::ZEROS; 2];
        draw_noise(&mut noise, [false, true, false, false, false, false], &mut counter);
        assert_eq!(noise[0].as_slice(), &[1.0, 2.0, 3.0, 1.0, 2.0, 3.0]);
        assert_eq!(noise[1].as_slice(), &[4.0, 5.0, 6.0, 4.0, 5.0, 6.0]);
        // `(1, 2, 2, 1)` on (2, 2, 2): one draw per pixel, shared by the samples.
        let mut noise = [Tensor3::<f64, 2, 2, 2>::ZEROS; 2];
        draw_noise(&mut noise, [true, false, false, true, false, false], &mut counter);
        assert_eq!(noise[0].as_slice(), &[7.0, 7.0, 8.0, 8.0, 9.0, 9.0, 10.0, 10.0]);
        assert_eq!(noise[1], noise[0]);
        // `(None, 1, 2, 1, 2)` on a volume (2, 2, 1, 2): a draw per sample, row and channel.
        let mut noise = [crate::tensor::Tensor4::<f64, 2, 2, 1, 2>::ZEROS; 1];
        draw_noise(&mut noise, [false, true, false, true, false, false], &mut counter);
        assert_eq!(noise[0].as_slice(), &[11.0, 12.0, 13.0, 14.0, 11.0, 12.0, 13.0, 14.0]);
    }

    #[test]
    fn dropout_divides_what_it_keeps_and_passes_the_gradient_through_the_mask() {
        let mut drop = Dropout::<Tensor2<f64, 4, 8>>::ZEROS;
        drop.rate = 0.5;
        let xs = [Tensor2::from_slice(&[3.0; 32])];
        let (mut ys, mut masks) = ([Tensor2::ZEROS], [Tensor2::ZEROS]);
        drop.forward_train(Level::Portable, &xs, &mut ys, &mut masks, &mut ctx(&mut Rng::new(2), &mut 0.0));
        let kept = masks[0].as_slice().iter().filter(|m| **m == 1.0).count();
        assert!(kept > 4 && kept < 28, "kept {kept} of 32");
        let (mut dys, mut dxs) = ([Tensor2::from_slice(&[1.0; 32])], [Tensor2::from_slice(&[0.5; 32])]);
        drop.backward(Level::Portable, &xs, &ys, &masks, &mut dys, Some(&mut dxs), None);
        for ((m, y), dx) in masks[0].as_slice().iter().zip(ys[0].as_slice()).zip(dxs[0].as_slice()) {
            // Kept: 3 / 0.5 and 0.5 + 1 / 0.5; dropped: 0 and 0.5 (added to, not overwritten).
            assert_eq!((*y, *dx), if *m == 1.0 { (6.0, 2.5) } else { (0.0, 0.5) });
        }
    }

    #[test]
    fn alpha_dropout_uses_keras_affine_correction() {
        // Keras, rate 0.3: a = 0.8609526162463561, b = 0.4540920681370629, alpha_p =
        // -1.7580993408473766 (computed by `AlphaDropout.call`'s formulas in Python).
        let mut alpha = AlphaDropout::<Tensor2<f64, 5, 4>>::ZEROS;
        alpha.rate = 0.3;
        let (a, b, alpha_p) = alpha.affine();
        assert!((a - 0.8609526162463561).abs() < 1e-15 && (b - 0.4540920681370629).abs() < 1e-15);
        assert_eq!(alpha_p, -1.7580993408473766);
        let xs = [Tensor2::from_slice(&core::array::from_fn::<f64, 20, _>(|i| i as f64 - 10.0))];
        let (mut ys, mut masks) = ([Tensor2::ZEROS], [Tensor2::ZEROS]);
        alpha.forward_train(Level::Portable, &xs, &mut ys, &mut masks, &mut ctx(&mut Rng::new(3), &mut 0.0));
        let (mut dys, mut dxs) = ([Tensor2::from_slice(&[1.0; 20])], [Tensor2::ZEROS]);
        alpha.backward(Level::Portable, &xs, &ys, &masks, &mut dys, Some(&mut dxs), None);
        let mut dropped = 0;
        for (((x, m), y), dx) in
            xs[0].as_slice().iter().zip(masks[0].as_slice()).zip(ys[0].as_slice()).zip(dxs[0].as_slice())
        {
            let (want, grad) = if *m == 1.0 { (a * x + b, a) } else { (a * alpha_p + b, 0.0) };
            dropped += usize::from(*m == 0.0);
            assert!((y - want).abs() < 1e-14 && *dx == grad, "{x}: {y} vs {want}, {dx}");
        }
        assert!(dropped > 0 && dropped < 20);
    }

    #[test]
    fn gaussian_layers_add_or_multiply_their_noise() {
        let xs = [Tensor2::<f64, 10, 10>::from_slice(&[2.0; 100])];
        let mut ys = [Tensor2::ZEROS];
        let mut noise = GaussianNoise::<Tensor2<f64, 10, 10>>::ZEROS;
        noise.stddev = 0.5;
        noise.forward_train(Level::Portable, &xs, &mut ys, &mut [()], &mut ctx(&mut Rng::new(4), &mut 0.0));
        let deviations: f64 = ys[0].as_slice().iter().map(|y| (y - 2.0) * (y - 2.0)).sum::<f64>() / 100.0;
        assert!((deviations.sqrt() - 0.5).abs() < 0.15, "{deviations}");
        let mut dropout = GaussianDropout::<Tensor2<f64, 10, 10>>::ZEROS;
        dropout.rate = 0.2;
        let mut kept = [Tensor2::ZEROS];
        dropout.forward_train(Level::Portable, &xs, &mut ys, &mut kept, &mut ctx(&mut Rng::new(5), &mut 0.0));
        let (mut dys, mut dxs) = ([Tensor2::from_slice(&[3.0; 100])], [Tensor2::ZEROS]);
        dropout.backward(Level::Portable, &xs, &ys, &kept, &mut dys, Some(&mut dxs), None);
        for ((y, k), dx) in ys[0].as_slice().iter().zip(kept[0].as_slice()).zip(dxs[0].as_slice()) {
            assert_eq!((*y, *dx), (2.0 * k, 3.0 * k));
        }
        // N(1, sqrt(0.2 / 0.8) = 0.5).
        let mean = kept[0].as_slice().iter().sum::<f64>() / 100.0;
        assert!((mean - 1.0).abs() < 0.15, "{mean}");
    }

    #[test]
    fn activity_regularization_adds_the_penalty_and_its_gradient_over_the_batch() {
        let mut reg = ActivityRegularization::<nalgebra::Vector3<f64>>::ZEROS;
        (reg.l1, reg.l2) = (0.5, 0.25);
        let xs = [nalgebra::Vector3::new(-2.0, 0.0, 3.0), nalgebra::Vector3::new(1.0, 1.0, 1.0)];
        let mut ys = [nalgebra::Vector3::zeros(); 2];
        let mut penalty = 1.0;
        reg.forward_train(
            Level::Portable,
            &xs,
            &mut ys,
            &mut [(); 2],
            &mut ctx(&mut Rng::new(1), &mut penalty),
        );
        assert_eq!(ys, xs);
        // 1 before, then (0.5 · Σ|x| + 0.25 · Σx²) / 2 = (0.5 · 8 + 0.25 · 16) / 2.
        assert_eq!(penalty, 1.0 + 4.0);
        let (mut dys, mut dxs) =
            ([nalgebra::Vector3::new(1.0, 1.0, 1.0); 2], [nalgebra::Vector3::zeros(); 2]);
        reg.backward(Level::Portable, &xs, &ys, &[(); 2], &mut dys, Some(&mut dxs), None);
        // dy + (0.5 · sign(x) + 2 · 0.25 · x) / 2, the slope of |x| being 1 at 0 (JAX's).
        assert_eq!(dxs[0], nalgebra::Vector3::new(1.0 - 0.75, 1.25, 2.0));
        assert_eq!(dxs[1], nalgebra::Vector3::new(1.5, 1.5, 1.5));
    }
}
