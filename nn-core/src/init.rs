//! Keras's default weight initializers, driven by a small seeded generator.

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
    uniform(w, libm::sqrt(6.0 / (fan_in + fan_out) as f64), rng);
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
}
