//! Keras's weight initializers, driven by a small seeded generator.
//!
//! [`Initializer`] is every initializer of `keras.initializers` that a layer's
//! `kernel_initializer` and friends take by name (`"he_normal"`, `"orthogonal"`, ...), with
//! Keras's formulas; [`Initializers`] is the set a layer is initialized with
//! ([`Layer::init_with`](crate::Layer::init_with)), one per kind of weight, each defaulting to
//! Keras's default for it.
//!
//! Keras draws from its backend's random streams (JAX's threefry here), which no other
//! framework reproduces, and its `seed` options name such streams. So the guarantee is: the
//! distributions are Keras's, and the same seed of nn's own [`Rng`] gives bit-identical weights
//! in nn, on every target.

use crate::Float;

/// A SplitMix64 generator: tiny, seedable and good enough to draw initial weights.
///
/// It does not reproduce Keras's random numbers (no two frameworks share a generator); it
/// reproduces Keras's *distributions*.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator whose whole sequence is fixed by `seed`.
    pub const fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform draw from `[0, 1)` with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A standard normal draw (mean 0, deviation 1), by the Box–Muller transform of two
    /// uniform draws: what the noise layers (`GaussianNoise`, `GaussianDropout`) draw while
    /// training.
    pub fn next_normal(&mut self) -> f64 {
        // `1 - u` lies in (0, 1], so the logarithm is finite.
        let (u, v) = (1.0 - self.next_f64(), self.next_f64());
        libm::sqrt(-2.0 * libm::log(u)) * libm::cos(core::f64::consts::TAU * v)
    }
}

/// Standard normal draws by the Box–Muller transform, two per pair of uniform draws: the second
/// is kept for the next call, so a fill uses one uniform draw per value.
struct Normal {
    spare: Option<f64>,
}

impl Normal {
    const fn new() -> Self {
        Normal { spare: None }
    }

    fn draw(&mut self, rng: &mut Rng) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        // `1 - u` lies in (0, 1], so the logarithm is finite.
        let (u1, u2) = (1.0 - rng.next_f64(), rng.next_f64());
        let r = libm::sqrt(-2.0 * libm::log(u1));
        let (sin, cos) = libm::sincos(core::f64::consts::TAU * u2);
        self.spare = Some(r * sin);
        r * cos
    }

    /// A standard normal draw inside `(-2, 2)`: draws outside are discarded and redrawn, as
    /// Keras's `TruncatedNormal` (JAX's `truncated_normal(-2, 2)`) does.
    fn truncated(&mut self, rng: &mut Rng) -> f64 {
        loop {
            let z = self.draw(rng);
            if z.abs() < 2.0 {
                return z;
            }
        }
    }
}

/// The standard deviation of a standard normal truncated to `(-2, 2)`: Keras divides a
/// variance-scaling `stddev` by it so that the truncated draws have the variance asked for.
/// Keras writes `.87962566103423978`, the same `f64`.
const TRUNCATED_STDDEV: f64 = 0.879_625_661_034_239_8;

/// Which fan divides a variance-scaling initializer's `scale`: Keras's `mode` (`fan_out` is
/// used by none of Keras's named initializers).
#[derive(Clone, Copy)]
enum Mode {
    FanIn,
    FanAvg,
}

/// One of Keras's weight initializers, by its class in `keras.initializers` (the DSL and
/// Keras's configs also accept its snake-case name: `he_normal`, `random_normal(stddev = 0.1)`).
///
/// The six variance-scaling ones are Keras's `VarianceScaling(scale, mode, distribution)`: with
/// `n` the weight's `fan_in`, `fan_out` or `(fan_in + fan_out) / 2` as `mode` says (at least 1),
///
/// - `distribution="uniform"`: uniform on `[-limit, limit)`, `limit = sqrt(3 · scale / n)`;
/// - `distribution="truncated_normal"`: normal with mean 0 and `stddev = sqrt(scale / n) /
///   0.87962566103423978`, draws beyond two standard deviations redrawn, so that the truncated
///   draws have the variance `scale / n`.
///
/// The options are `f64` so that a model's initializers can be constants.
///
/// ```
/// use nn_core::init::{Initializer, Rng};
/// let mut kernel = [0.0f32; 8 * 4];
/// Initializer::HeUniform.fill(&mut kernel, 8, 4, &mut Rng::new(1));
/// let limit = (6.0f32 / 8.0).sqrt(); // sqrt(3 · 2 / fan_in)
/// assert!(kernel.iter().all(|w| w.abs() <= limit));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Initializer {
    /// Keras's default kernel initializer: uniform with `limit = sqrt(6 / (fan_in + fan_out))`
    /// (`scale = 1`, `fan_avg`, `uniform`).
    GlorotUniform,
    /// Truncated normal with variance `2 / (fan_in + fan_out)` (`scale = 1`, `fan_avg`,
    /// `truncated_normal`).
    GlorotNormal,
    /// Uniform with `limit = sqrt(6 / fan_in)` (`scale = 2`, `fan_in`, `uniform`).
    HeUniform,
    /// Truncated normal with variance `2 / fan_in` (`scale = 2`, `fan_in`, `truncated_normal`).
    HeNormal,
    /// Uniform with `limit = sqrt(3 / fan_in)` (`scale = 1`, `fan_in`, `uniform`).
    LecunUniform,
    /// Truncated normal with variance `1 / fan_in` (`scale = 1`, `fan_in`, `truncated_normal`).
    LecunNormal,
    /// An orthogonal matrix times `gain` (Keras's default `gain = 1`): a weight of shape
    /// `(..., c)` is seen as the matrix `(prod(shape[:-1]), c)`, which is `fan_in × c`; a normal
    /// matrix of shape `(max, min)` of its sides is factored `QR`, `Q`'s columns are multiplied
    /// by the signs of `R`'s diagonal, and `Q` (or `Qᵀ` when the weight has fewer rows than
    /// columns) is the weight. Its rows or its columns, whichever are fewer, are then
    /// orthonormal (times `gain`). Keras refuses a weight of rank 1; here a vector is filled
    /// as an `n × 1` matrix, a unit vector.
    Orthogonal {
        /// The factor applied to the orthogonal matrix.
        gain: f64,
    },
    /// Every weight 0: Keras's default bias initializer.
    Zeros,
    /// Every weight 1.
    Ones,
    /// Every weight `value` (Keras's default `value = 0`).
    Constant {
        /// The value of every weight.
        value: f64,
    },
    /// Normal draws (Keras's defaults `mean = 0`, `stddev = 0.05`).
    RandomNormal {
        /// The mean of the draws.
        mean: f64,
        /// Their standard deviation.
        stddev: f64,
    },
    /// Uniform draws on `[minval, maxval)` (Keras's defaults `-0.05`, `0.05`: `Embedding`'s
    /// default).
    RandomUniform {
        /// The lower bound, included.
        minval: f64,
        /// The upper bound, excluded.
        maxval: f64,
    },
    /// Normal draws, those more than two `stddev` from `mean` redrawn (Keras's defaults `mean =
    /// 0`, `stddev = 0.05`). Unlike the variance-scaling ones, `stddev` is that of the normal
    /// before truncation.
    TruncatedNormal {
        /// The mean of the draws.
        mean: f64,
        /// The standard deviation of the normal before truncation.
        stddev: f64,
    },
}

impl Initializer {
    /// `Orthogonal` with Keras's default `gain = 1`.
    pub const ORTHOGONAL: Self = Initializer::Orthogonal { gain: 1.0 };
    /// `Constant` with Keras's default `value = 0`.
    pub const CONSTANT: Self = Initializer::Constant { value: 0.0 };
    /// `RandomNormal` with Keras's defaults `mean = 0`, `stddev = 0.05`.
    pub const RANDOM_NORMAL: Self = Initializer::RandomNormal { mean: 0.0, stddev: 0.05 };
    /// `RandomUniform` with Keras's defaults `minval = -0.05`, `maxval = 0.05`.
    pub const RANDOM_UNIFORM: Self = Initializer::RandomUniform { minval: -0.05, maxval: 0.05 };
    /// `TruncatedNormal` with Keras's defaults `mean = 0`, `stddev = 0.05`.
    pub const TRUNCATED_NORMAL: Self = Initializer::TruncatedNormal { mean: 0.0, stddev: 0.05 };

    /// Fills the weight `w` (its values in Keras's row-major layout) with fans `fan_in` and
    /// `fan_out` (Keras's [`compute_fans`] of its shape), drawing from `rng`. Never allocates.
    ///
    /// For `Orthogonal`, `w` is the matrix `fan_in × (w.len() / fan_in)`: for a kernel of any
    /// rank, `fan_in` is the product of every axis but the last, which is how Keras flattens it.
    pub fn fill<T: Float>(&self, w: &mut [T], fan_in: usize, fan_out: usize, rng: &mut Rng) {
        use Initializer::*;
        use Mode::*;
        let fans = (fan_in, fan_out);
        match *self {
            GlorotUniform => variance_scaling_uniform(w, 1.0, FanAvg, fans, rng),
            GlorotNormal => variance_scaling_normal(w, 1.0, FanAvg, fans, rng),
            HeUniform => variance_scaling_uniform(w, 2.0, FanIn, fans, rng),
            HeNormal => variance_scaling_normal(w, 2.0, FanIn, fans, rng),
            LecunUniform => variance_scaling_uniform(w, 1.0, FanIn, fans, rng),
            LecunNormal => variance_scaling_normal(w, 1.0, FanIn, fans, rng),
            Orthogonal { gain } => orthogonal(w, fan_in, gain, rng),
            Zeros => w.fill(T::ZERO),
            Ones => w.fill(T::ONE),
            Constant { value } => w.fill(T::of(value)),
            RandomNormal { mean, stddev } => {
                let mut normal = Normal::new();
                w.iter_mut().for_each(|v| *v = T::of(mean + stddev * normal.draw(rng)));
            }
            RandomUniform { minval, maxval } => {
                // Centre and half-width, so that a symmetric range draws exactly as `uniform`.
                let (mid, half) = ((maxval + minval) / 2.0, (maxval - minval) / 2.0);
                w.iter_mut().for_each(|v| *v = T::of((rng.next_f64() * 2.0 - 1.0) * half + mid));
            }
            TruncatedNormal { mean, stddev } => {
                let mut normal = Normal::new();
                w.iter_mut().for_each(|v| *v = T::of(mean + stddev * normal.truncated(rng)));
            }
        }
    }
}

/// The initializers a layer is built with, one per kind of weight, named after Keras's layer
/// arguments (`kernel` is `kernel_initializer`), each Keras's default for that argument, which
/// is the same in every layer that takes it.
///
/// A layer reads the fields for the weights it has and ignores the others. Build one from
/// [`Initializers::KERAS`], so that fields added later keep their defaults:
///
/// ```
/// use nn_core::init::{Initializer, Initializers};
/// let init = Initializers { kernel: Initializer::HeNormal, ..Initializers::KERAS };
/// assert_eq!(init.bias, Initializer::Zeros);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Initializers {
    /// `kernel_initializer` (Dense, convolutions, recurrent layers' input kernel):
    /// `glorot_uniform`.
    pub kernel: Initializer,
    /// `bias_initializer`: `zeros`.
    pub bias: Initializer,
    /// `recurrent_initializer` (recurrent layers' recurrent kernel): `orthogonal`.
    pub recurrent: Initializer,
    /// `embeddings_initializer` (Embedding): `random_uniform` on `[-0.05, 0.05)`.
    pub embeddings: Initializer,
    /// `depthwise_initializer` (DepthwiseConv2D, SeparableConv2D): `glorot_uniform`.
    pub depthwise: Initializer,
    /// `pointwise_initializer` (SeparableConv2D): `glorot_uniform`.
    pub pointwise: Initializer,
    /// `gamma_initializer` (normalization layers' scale): `ones`.
    pub gamma: Initializer,
    /// `beta_initializer` (normalization layers' offset): `zeros`.
    pub beta: Initializer,
    /// `moving_mean_initializer` (BatchNormalization): `zeros`.
    pub moving_mean: Initializer,
    /// `moving_variance_initializer` (BatchNormalization): `ones`.
    pub moving_variance: Initializer,
    /// `alpha_initializer` (PReLU's slopes): `zeros`.
    pub alpha: Initializer,
}

impl Initializers {
    /// Keras's defaults for every argument.
    pub const KERAS: Self = Initializers {
        kernel: Initializer::GlorotUniform,
        bias: Initializer::Zeros,
        recurrent: Initializer::ORTHOGONAL,
        embeddings: Initializer::RANDOM_UNIFORM,
        depthwise: Initializer::GlorotUniform,
        pointwise: Initializer::GlorotUniform,
        gamma: Initializer::Ones,
        beta: Initializer::Zeros,
        moving_mean: Initializer::Zeros,
        moving_variance: Initializer::Ones,
        alpha: Initializer::Zeros,
    };
}

impl Default for Initializers {
    fn default() -> Self {
        Initializers::KERAS
    }
}

/// Keras's `compute_fans`: `(fan_in, fan_out)` of a weight of this shape. A vector's fans are
/// both its length, a matrix `(in, out)`'s are `in` and `out`, and a convolution kernel
/// `(k..., in, out)` (rank 3 to 5) multiplies both by its receptive field, the product of
/// `k...`.
///
/// ```
/// use nn_core::init::compute_fans;
/// assert_eq!(compute_fans(&[3, 3, 16, 32]), (3 * 3 * 16, 3 * 3 * 32));
/// ```
pub const fn compute_fans(shape: &[usize]) -> (usize, usize) {
    match shape {
        [] => (1, 1),
        [n] => (*n, *n),
        [fan_in, fan_out] => (*fan_in, *fan_out),
        [kernel @ .., fan_in, fan_out] => {
            let mut field = 1;
            let mut i = 0;
            while i < kernel.len() {
                field *= kernel[i];
                i += 1;
            }
            (*fan_in * field, *fan_out * field)
        }
    }
}

/// Keras's `n`: the fan `mode` names, at least 1.
fn fan(mode: Mode, (fan_in, fan_out): (usize, usize)) -> f64 {
    let n = match mode {
        Mode::FanIn => fan_in as f64,
        Mode::FanAvg => (fan_in + fan_out) as f64 / 2.0,
    };
    n.max(1.0)
}

/// `VarianceScaling(scale, mode, "uniform")`: uniform on `[-limit, limit)` with `limit =
/// sqrt(3 · scale / n)`.
fn variance_scaling_uniform<T: Float>(
    w: &mut [T],
    scale: f64,
    mode: Mode,
    fans: (usize, usize),
    rng: &mut Rng,
) {
    // One division, `3 · scale / n`, where Keras divides `scale` by `n` and then multiplies by
    // 3: the same number up to rounding, and for glorot_uniform exactly `6 / (fan_in +
    // fan_out)`, what nn drew before it had initializers, so seeded models keep their weights.
    uniform(w, libm::sqrt(3.0 * scale / fan(mode, fans)), rng);
}

/// `VarianceScaling(scale, mode, "truncated_normal")`: normal with `stddev = sqrt(scale / n) /
/// 0.87962566103423978`, truncated at two standard deviations.
fn variance_scaling_normal<T: Float>(
    w: &mut [T],
    scale: f64,
    mode: Mode,
    fans: (usize, usize),
    rng: &mut Rng,
) {
    let stddev = libm::sqrt(scale / fan(mode, fans)) / TRUNCATED_STDDEV;
    let mut normal = Normal::new();
    w.iter_mut().for_each(|v| *v = T::of(stddev * normal.truncated(rng)));
}

/// Keras's `Orthogonal(gain)` over `w`, the row-major matrix `rows × cols` with `rows =
/// fan_in`, in place.
///
/// Keras factors a normal matrix `a` of shape `(max(rows, cols), min(rows, cols))` and keeps
/// `Q · sign(diag(R))`: that is the `Q` of the factorization whose `R` has a positive
/// diagonal, which Gram–Schmidt computes directly, column by column, in `a`'s own memory. When
/// `rows ≥ cols`, `a` is `w` itself; otherwise Keras returns `Qᵀ`, so `a`'s columns are `w`'s
/// rows.
fn orthogonal<T: Float>(w: &mut [T], fan_in: usize, gain: f64, rng: &mut Rng) {
    let rows = fan_in.max(1);
    let cols = w.len() / rows;
    let (m, n) = (rows.max(cols), rows.min(cols));
    let tall = rows >= cols;
    // Where `a[i][j]` lives in `w`.
    let at = |i: usize, j: usize| if tall { i * cols + j } else { j * cols + i };
    let mut normal = Normal::new();
    for i in 0..m {
        for j in 0..n {
            w[at(i, j)] = T::of(normal.draw(rng));
        }
    }
    // Modified Gram–Schmidt, sums in f64. Each column is orthogonalized twice: in f32 a single
    // pass loses orthogonality in proportion to `a`'s condition number, which for a square
    // normal matrix grows with its size; a second pass ("twice is enough") brings it back to
    // rounding, and changes nothing in exact arithmetic.
    for k in 0..n {
        for _ in 0..2 {
            for j in 0..k {
                let r: f64 = (0..m).map(|i| w[at(i, j)].as_f64() * w[at(i, k)].as_f64()).sum();
                for i in 0..m {
                    w[at(i, k)] = T::of(w[at(i, k)].as_f64() - r * w[at(i, j)].as_f64());
                }
            }
        }
        let norm = libm::sqrt((0..m).map(|i| w[at(i, k)].as_f64() * w[at(i, k)].as_f64()).sum::<f64>());
        // A zero column has probability zero; it stays zero rather than becoming NaN.
        let scale = if norm > 0.0 { 1.0 / norm } else { 0.0 };
        for i in 0..m {
            w[at(i, k)] = T::of(w[at(i, k)].as_f64() * scale);
        }
    }
    if gain != 1.0 {
        w.iter_mut().for_each(|v| *v = T::of(v.as_f64() * gain));
    }
}

/// Fills `w` with Keras's `glorot_uniform`: uniform on `[-limit, limit)` with
/// `limit = sqrt(6 / (fan_in + fan_out))`.
///
/// ```
/// use nn_core::init::{glorot_uniform, Rng};
/// let mut w = [0.0f32; 6];
/// glorot_uniform(&mut w, 2, 3, &mut Rng::new(7));
/// let limit = (6.0f32 / 5.0).sqrt();
/// assert!(w.iter().all(|v| v.abs() <= limit) && w.iter().any(|v| *v != 0.0));
/// ```
pub fn glorot_uniform<T: Float>(w: &mut [T], fan_in: usize, fan_out: usize, rng: &mut Rng) {
    Initializer::GlorotUniform.fill(w, fan_in, fan_out, rng);
}

/// Fills `w` uniformly on `[-limit, limit)`: Keras's `RandomUniform(-limit, limit)`, which is
/// `Embedding`'s default with `limit = 0.05`.
pub fn uniform<T: Float>(w: &mut [T], limit: f64, rng: &mut Rng) {
    for v in w {
        *v = T::of((rng.next_f64() * 2.0 - 1.0) * limit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec;
    use std::vec::Vec;

    #[test]
    fn same_seed_gives_same_weights_and_others_differ() {
        let (mut a, mut b, mut c) = ([0.0f64; 8], [0.0f64; 8], [0.0f64; 8]);
        glorot_uniform(&mut a, 4, 2, &mut Rng::new(1));
        glorot_uniform(&mut b, 4, 2, &mut Rng::new(1));
        glorot_uniform(&mut c, 4, 2, &mut Rng::new(2));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn normal_draws_have_mean_zero_and_deviation_one() {
        let mut rng = Rng::new(11);
        let draws: [f64; 20000] = core::array::from_fn(|_| rng.next_normal());
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        let variance = draws.iter().map(|d| (d - mean) * (d - mean)).sum::<f64>() / draws.len() as f64;
        assert!(mean.abs() < 0.03 && (variance - 1.0).abs() < 0.05, "mean {mean}, variance {variance}");
        assert!(draws.iter().all(|d| d.is_finite()));
    }

    #[test]
    fn glorot_draws_fill_the_keras_interval() {
        let mut w = [0.0f64; 4000];
        glorot_uniform(&mut w, 10, 14, &mut Rng::new(3));
        let limit = 0.5; // sqrt(6 / 24)
        let (min, max) = w.iter().fold((1.0f64, -1.0f64), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
        assert!(min >= -limit && max < limit);
        assert!(min < -0.49 && max > 0.49, "draws should reach both ends: {min} {max}");
        let mean = w.iter().sum::<f64>() / w.len() as f64;
        assert!(mean.abs() < 0.02, "mean {mean}");
    }

    /// Every initializer, with options away from their defaults where it has any.
    const ALL: [Initializer; 13] = [
        Initializer::GlorotUniform,
        Initializer::GlorotNormal,
        Initializer::HeUniform,
        Initializer::HeNormal,
        Initializer::LecunUniform,
        Initializer::LecunNormal,
        Initializer::Orthogonal { gain: 2.0 },
        Initializer::Zeros,
        Initializer::Ones,
        Initializer::Constant { value: 0.1 },
        Initializer::RandomNormal { mean: 0.5, stddev: 0.2 },
        Initializer::RandomUniform { minval: -0.1, maxval: 0.3 },
        Initializer::TruncatedNormal { mean: -1.0, stddev: 0.5 },
    ];

    #[test]
    fn the_same_seed_gives_bit_identical_weights_for_every_initializer() {
        for init in ALL {
            let (mut a, mut b) = (vec![0.0f32; 12 * 7], vec![0.0f32; 12 * 7]);
            init.fill(&mut a, 12, 7, &mut Rng::new(9));
            init.fill(&mut b, 12, 7, &mut Rng::new(9));
            let bits = |w: &[f32]| w.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a), bits(&b), "{init:?}");
        }
    }

    #[test]
    fn glorot_uniform_draws_what_it_drew_before_it_was_an_initializer() {
        // The formula nn used, `(u · 2 - 1) · sqrt(6 / (fan_in + fan_out))`: seeded models
        // keep their weights.
        for (fan_in, fan_out) in [(1, 1), (3, 5), (10, 14), (784, 128), (7, 1000)] {
            let mut w = vec![0.0f64; 64];
            Initializer::GlorotUniform.fill(&mut w, fan_in, fan_out, &mut Rng::new(4));
            let mut rng = Rng::new(4);
            let limit = libm::sqrt(6.0 / (fan_in + fan_out) as f64);
            for v in &w {
                assert_eq!(v.to_bits(), ((rng.next_f64() * 2.0 - 1.0) * limit).to_bits());
            }
        }
        // And `RandomUniform`'s default range draws as `uniform(w, 0.05)`, Embedding's.
        let (mut a, mut b) = ([0.0f64; 64], [0.0f64; 64]);
        Initializer::RANDOM_UNIFORM.fill(&mut a, 64, 64, &mut Rng::new(5));
        uniform(&mut b, 0.05, &mut Rng::new(5));
        assert_eq!(a, b);
    }

    fn moments(w: &[f64]) -> (f64, f64) {
        let n = w.len() as f64;
        let mean = w.iter().sum::<f64>() / n;
        (mean, w.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n)
    }

    /// Checks mean and variance of a large draw against the distribution's, within five
    /// standard errors (`var4` is the fourth central moment, for the variance's error).
    fn check(init: Initializer, fans: (usize, usize), mean: f64, var: f64, var4: f64, bounds: (f64, f64)) {
        let n = 200_000;
        let mut w = vec![0.0f64; n];
        init.fill(&mut w, fans.0, fans.1, &mut Rng::new(11));
        let (m, v) = moments(&w);
        let n = n as f64;
        assert!((m - mean).abs() < 5.0 * (var / n).sqrt(), "{init:?}: mean {m}, want {mean}");
        let var_err = ((var4 - var * var) / n).sqrt();
        assert!((v - var).abs() < 5.0 * var_err, "{init:?}: variance {v}, want {var}");
        let (lo, hi) = w.iter().fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
        assert!(lo >= bounds.0 && hi <= bounds.1, "{init:?}: draws in [{lo}, {hi}], want {bounds:?}");
        // The draws reach near both bounds where there are any.
        if bounds.0.is_finite() {
            let width = bounds.1 - bounds.0;
            assert!(lo < bounds.0 + 0.01 * width && hi > bounds.1 - 0.01 * width, "{init:?}: [{lo}, {hi}]");
        }
    }

    /// A uniform on `[-l, l)`: variance `l²/3`, fourth moment `l⁴/5`.
    fn uniform_case(init: Initializer, fans: (usize, usize), limit: f64) {
        let var = limit * limit / 3.0;
        check(init, fans, 0.0, var, limit.powi(4) / 5.0, (-limit, limit));
    }

    /// A normal truncated at two standard deviations `s` (before truncation): variance
    /// `(0.8796…·s)²`, fourth moment `≈ 2.0524·s⁴` (computed for the truncated standard normal:
    /// `3 - 2·(2³ + 3·2)·φ(2) / (Φ(2) - Φ(-2))`).
    fn truncated_case(init: Initializer, fans: (usize, usize), mean: f64, s: f64) {
        let phi2 = (-2.0f64).exp() / (2.0 * core::f64::consts::PI).sqrt();
        let z = 0.954_499_736_103_641_6; // Φ(2) - Φ(-2)
        let var = 1.0 - 4.0 * phi2 / z;
        let m4 = 3.0 - 2.0 * (8.0 + 6.0) * phi2 / z;
        assert!((var.sqrt() - TRUNCATED_STDDEV).abs() < 1e-12);
        check(init, fans, mean, var * s * s, m4 * s.powi(4), (mean - 2.0 * s, mean + 2.0 * s));
    }

    #[test]
    fn variance_scaling_draws_have_keras_limits_and_variances() {
        let fans = (30, 50);
        uniform_case(Initializer::GlorotUniform, fans, (6.0f64 / 80.0).sqrt());
        uniform_case(Initializer::HeUniform, fans, (6.0f64 / 30.0).sqrt());
        uniform_case(Initializer::LecunUniform, fans, (3.0f64 / 30.0).sqrt());
        // Truncated normals: the variance after truncation is `scale / n`.
        let stddev = |scale: f64, n: f64| (scale / n).sqrt() / TRUNCATED_STDDEV;
        truncated_case(Initializer::GlorotNormal, fans, 0.0, stddev(1.0, 40.0));
        truncated_case(Initializer::HeNormal, fans, 0.0, stddev(2.0, 30.0));
        truncated_case(Initializer::LecunNormal, fans, 0.0, stddev(1.0, 30.0));
        let mut w = vec![0.0f64; 100_000];
        Initializer::HeNormal.fill(&mut w, 30, 50, &mut Rng::new(2));
        let (_, v) = moments(&w);
        assert!((v - 2.0 / 30.0).abs() < 0.01 * 2.0 / 30.0, "he_normal variance {v}");
    }

    #[test]
    fn random_draws_have_their_options_moments() {
        let fans = (8, 8);
        check(
            Initializer::RandomNormal { mean: 0.5, stddev: 0.2 },
            fans,
            0.5,
            0.04,
            3.0 * 0.2f64.powi(4),
            (f64::NEG_INFINITY, f64::INFINITY),
        );
        let (lo, hi) = (-0.1, 0.3);
        let half: f64 = (hi - lo) / 2.0;
        check(
            Initializer::RandomUniform { minval: lo, maxval: hi },
            fans,
            0.1,
            half * half / 3.0,
            half.powi(4) / 5.0,
            (lo, hi),
        );
        truncated_case(Initializer::TruncatedNormal { mean: -1.0, stddev: 0.5 }, fans, -1.0, 0.5);
        truncated_case(Initializer::TRUNCATED_NORMAL, fans, 0.0, 0.05);
    }

    #[test]
    fn constants_fill_every_weight() {
        let mut w = [7.0f32; 5];
        Initializer::Zeros.fill(&mut w, 5, 5, &mut Rng::new(0));
        assert_eq!(w, [0.0; 5]);
        Initializer::Ones.fill(&mut w, 5, 5, &mut Rng::new(0));
        assert_eq!(w, [1.0; 5]);
        Initializer::Constant { value: 0.1 }.fill(&mut w, 5, 5, &mut Rng::new(0));
        assert_eq!(w, [0.1; 5]);
    }

    /// The largest deviation of `wᵀw` (or `w wᵀ` when `w` is wide) from `gain² · I`.
    fn orthogonality<T: Float>(w: &[T], rows: usize, cols: usize, gain: f64) -> f64 {
        let x = |i: usize, j: usize| w[i * cols + j].as_f64();
        let mut worst = 0.0f64;
        if rows >= cols {
            for a in 0..cols {
                for b in 0..cols {
                    let dot: f64 = (0..rows).map(|i| x(i, a) * x(i, b)).sum();
                    let want = if a == b { gain * gain } else { 0.0 };
                    worst = worst.max((dot - want).abs());
                }
            }
        } else {
            for a in 0..rows {
                for b in 0..rows {
                    let dot: f64 = (0..cols).map(|j| x(a, j) * x(b, j)).sum();
                    let want = if a == b { gain * gain } else { 0.0 };
                    worst = worst.max((dot - want).abs());
                }
            }
        }
        worst
    }

    #[test]
    fn orthogonal_matrices_are_orthogonal_times_the_gain() {
        for (rows, cols) in [(64, 64), (100, 20), (20, 100), (1, 5), (5, 1), (128, 128)] {
            for gain in [1.0, 2.0] {
                let init = Initializer::Orthogonal { gain };
                let mut w64 = vec![0.0f64; rows * cols];
                init.fill(&mut w64, rows, cols, &mut Rng::new(3));
                let e = orthogonality(&w64, rows, cols, gain);
                assert!(e < 1e-12, "f64 {rows}×{cols} gain {gain}: {e}");
                let mut w32 = vec![0.0f32; rows * cols];
                init.fill(&mut w32, rows, cols, &mut Rng::new(3));
                let e = orthogonality(&w32, rows, cols, gain);
                assert!(e < 1e-5 * gain * gain, "f32 {rows}×{cols} gain {gain}: {e}");
            }
        }
        // A convolution kernel (3, 3, 4, 8) is the matrix 36 × 8, its `fan_in` rows.
        let (fan_in, fan_out) = compute_fans(&[3, 3, 4, 8]);
        let mut w = vec![0.0f32; 3 * 3 * 4 * 8];
        Initializer::ORTHOGONAL.fill(&mut w, fan_in, fan_out, &mut Rng::new(6));
        assert!(orthogonality(&w, 36, 8, 1.0) < 1e-5);
    }

    #[test]
    fn orthogonal_is_the_qr_factor_with_a_positive_diagonal() {
        // Gram–Schmidt's `Q` is Keras's `Q · sign(diag(R))`: `R = Qᵀ a` is upper triangular
        // with a positive diagonal, for the same normal draws `a` as the fill makes.
        let (rows, cols) = (6, 4);
        let mut q = vec![0.0f64; rows * cols];
        Initializer::ORTHOGONAL.fill(&mut q, rows, cols, &mut Rng::new(8));
        let mut a = vec![0.0f64; rows * cols];
        let mut normal = Normal::new();
        let mut rng = Rng::new(8);
        a.iter_mut().for_each(|v| *v = normal.draw(&mut rng));
        for i in 0..cols {
            for j in 0..cols {
                let r: f64 = (0..rows).map(|k| q[k * cols + i] * a[k * cols + j]).sum();
                if i > j {
                    assert!(r.abs() < 1e-12, "R[{i}][{j}] = {r}");
                } else if i == j {
                    assert!(r > 0.0, "R[{i}][{i}] = {r}");
                }
            }
        }
    }

    #[test]
    fn fans_follow_keras_compute_fans() {
        assert_eq!(compute_fans(&[]), (1, 1));
        assert_eq!(compute_fans(&[7]), (7, 7));
        assert_eq!(compute_fans(&[4, 9]), (4, 9));
        assert_eq!(compute_fans(&[5, 3, 8]), (15, 40));
        assert_eq!(compute_fans(&[3, 3, 16, 32]), (144, 288));
        assert_eq!(compute_fans(&[2, 3, 3, 4, 6]), (72, 108));
    }

    #[test]
    fn normal_draws_are_standard() {
        let mut normal = Normal::new();
        let mut rng = Rng::new(1);
        let w: Vec<f64> = (0..200_000).map(|_| normal.draw(&mut rng)).collect();
        let (m, v) = moments(&w);
        assert!(m.abs() < 0.012 && (v - 1.0).abs() < 0.02, "{m} {v}");
    }
}
