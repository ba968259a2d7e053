//! Keras's learning rates: a constant, or one of the schedules of
//! `keras.optimizers.schedules` (`ExponentialDecay`, `CosineDecay` with its optional warmup,
//! `PiecewiseConstantDecay`), each a function of the optimizer's step.
//!
//! An optimizer reads its learning rate once per update, at `optimizer.iterations` before that
//! update increments it, so the first update uses [`LearningRate::at`]`(0)`.
//!
//! Keras evaluates a schedule in float32 (its `initial_learning_rate`, a Python float, becomes a
//! float32 tensor and the step is cast to it); here the formulas run in `f64` and the caller
//! casts the result. The two agree to float32's rounding (an ulp or so: Keras's `pow` and `cos`
//! are XLA's, not libm's) except where float32 arithmetic itself loses the value:
//!
//! - Keras's step is an int32 cast to float32, exact only below 2^24 steps;
//! - `1 + cos(pi * t)` cancels in float32 near the end of a cosine decay: the absolute error
//!   stays below ~1e-7 of the rate the decay starts from, but relative to a rate that is almost
//!   zero it grows (with `alpha == 0` and `decay_steps == 1000`, Keras's rate is 6e-7 relative off
//!   at step 900, 1e-4 at step 995 and 2.5e-3 at step 999).

use core::fmt;

/// The learning rate of an optimizer: a constant, or a Keras schedule of the step.
///
/// Every variant has Keras's argument names and meaning; the constructors give Keras's defaults
/// for the arguments they leave out, and [`LearningRate::validate`] makes Keras's checks.
///
/// ```
/// use nn_core::train::schedule::LearningRate;
/// let lr = LearningRate::ExponentialDecay {
///     initial_learning_rate: 0.1,
///     decay_steps: 3.0,
///     decay_rate: 0.5,
///     staircase: true,
/// };
/// assert_eq!([lr.at(0), lr.at(2), lr.at(3), lr.at(6)], [0.1, 0.1, 0.05, 0.025]);
/// assert_eq!(LearningRate::from(0.01).at(1000), 0.01);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LearningRate {
    /// A fixed learning rate (Keras's float `learning_rate`, held in a float32 variable).
    Constant(f64),
    /// `keras.optimizers.schedules.ExponentialDecay`:
    /// `initial_learning_rate * decay_rate ^ (step / decay_steps)`, the exponent floored when
    /// `staircase` is set.
    ExponentialDecay {
        /// The learning rate at step 0.
        initial_learning_rate: f64,
        /// Steps per factor of `decay_rate`; must be > 0.
        decay_steps: f64,
        /// The factor per `decay_steps` steps.
        decay_rate: f64,
        /// Whether the exponent is floored, so the rate drops every `decay_steps` steps
        /// (Keras's default: `false`).
        staircase: bool,
    },
    /// `keras.optimizers.schedules.CosineDecay`: with `warmup_target`, a linear warmup from
    /// `initial_learning_rate` to `warmup_target` over `warmup_steps`, then a cosine decay from
    /// `warmup_target` to `warmup_target * alpha` over `decay_steps`; without it, a cosine decay
    /// from `initial_learning_rate` to `initial_learning_rate * alpha`. The rate stays at its
    /// final value after that.
    CosineDecay {
        /// The learning rate at step 0.
        initial_learning_rate: f64,
        /// Steps over which the cosine decays; must be > 0.
        decay_steps: f64,
        /// The final rate as a fraction of the rate the decay starts from (Keras's default: 0).
        alpha: f64,
        /// The rate the warmup reaches, or `None` for no warmup (Keras's default).
        warmup_target: Option<f64>,
        /// Steps of warmup (Keras's default: 0); ignored without `warmup_target`.
        warmup_steps: f64,
    },
    /// `keras.optimizers.schedules.PiecewiseConstantDecay`: `values[0]` while
    /// `step <= boundaries[0]`, `values[i]` while `boundaries[i - 1] < step <= boundaries[i]`,
    /// and the last value once `step > boundaries[last]`. Build it with
    /// [`LearningRate::piecewise_constant_decay`], which checks the lengths.
    PiecewiseConstantDecay {
        /// The steps at which the value changes, increasing. Keras casts them to the step's
        /// integer type (truncating), as [`LearningRate::at`] does.
        boundaries: &'static [f64],
        /// One more value than there are boundaries.
        values: &'static [f64],
    },
}

impl LearningRate {
    /// Keras's `ExponentialDecay(initial_learning_rate, decay_steps, decay_rate)`, with its
    /// default `staircase=False`.
    pub const fn exponential_decay(initial_learning_rate: f64, decay_steps: f64, decay_rate: f64) -> Self {
        Self::ExponentialDecay { initial_learning_rate, decay_steps, decay_rate, staircase: false }
    }

    /// Keras's `CosineDecay(initial_learning_rate, decay_steps)`, with its defaults `alpha=0.0`
    /// and no warmup.
    pub const fn cosine_decay(initial_learning_rate: f64, decay_steps: f64) -> Self {
        Self::CosineDecay {
            initial_learning_rate,
            decay_steps,
            alpha: 0.0,
            warmup_target: None,
            warmup_steps: 0.0,
        }
    }

    /// Keras's `PiecewiseConstantDecay(boundaries, values)`, or an error (as Keras's
    /// `ValueError`) unless there is exactly one more value than boundaries, and at least one
    /// boundary (Keras fails on an empty list when the schedule is first called).
    pub const fn piecewise_constant_decay(
        boundaries: &'static [f64],
        values: &'static [f64],
    ) -> Result<Self, ScheduleError> {
        let lr = Self::PiecewiseConstantDecay { boundaries, values };
        match lr.validate() {
            Ok(()) => Ok(lr),
            Err(e) => Err(e),
        }
    }

    /// Keras's checks on the schedule's arguments: `decay_steps > 0` for the two decays (a NaN
    /// is refused too), and the lengths of a piecewise schedule's lists.
    pub const fn validate(&self) -> Result<(), ScheduleError> {
        match *self {
            Self::Constant(_) => Ok(()),
            Self::ExponentialDecay { decay_steps, .. } | Self::CosineDecay { decay_steps, .. } => {
                if decay_steps > 0.0 {
                    Ok(())
                } else {
                    Err(ScheduleError::DecaySteps(decay_steps))
                }
            }
            Self::PiecewiseConstantDecay { boundaries, values } => {
                if boundaries.is_empty() {
                    Err(ScheduleError::NoBoundaries)
                } else if values.len() != boundaries.len() + 1 {
                    Err(ScheduleError::Lengths { boundaries: boundaries.len(), values: values.len() })
                } else {
                    Ok(())
                }
            }
        }
    }

    /// The learning rate of the update made when `optimizer.iterations` is `step` (before that
    /// update increments it): Keras's `schedule(step)`, with its formulas in Keras's order of
    /// operations but in `f64` (see the module documentation for where float32 differs).
    ///
    /// A piecewise schedule whose lists have the wrong lengths (possible only by writing the
    /// variant directly) reads as far as both lists go.
    pub fn at(&self, step: u64) -> f64 {
        // Keras casts the int32 step to the schedule's float type.
        let t = step as f64;
        match *self {
            Self::Constant(lr) => lr,
            Self::ExponentialDecay { initial_learning_rate, decay_steps, decay_rate, staircase } => {
                let mut p = t / decay_steps;
                if staircase {
                    p = libm::floor(p);
                }
                initial_learning_rate * libm::pow(decay_rate, p)
            }
            Self::CosineDecay { initial_learning_rate, decay_steps, alpha, warmup_target, warmup_steps } => {
                match warmup_target {
                    None => cosine(t.min(decay_steps), decay_steps, initial_learning_rate, alpha),
                    Some(target) => {
                        // Keras caps the step at the end of the decay before picking the phase.
                        let t = t.min(decay_steps + warmup_steps);
                        if t < warmup_steps {
                            (target - initial_learning_rate) * (t / warmup_steps) + initial_learning_rate
                        } else {
                            cosine(t - warmup_steps, decay_steps, target, alpha)
                        }
                    }
                }
            }
            Self::PiecewiseConstantDecay { boundaries, values } => piecewise(t, boundaries, values),
        }
    }
}

/// Keras's `CosineDecay._decay_function`.
fn cosine(t: f64, decay_steps: f64, decay_from_lr: f64, alpha: f64) -> f64 {
    let completed_fraction = t / decay_steps;
    let cosine_decayed = 0.5 * (1.0 + libm::cos(core::f64::consts::PI * completed_fraction));
    let decayed = (1.0 - alpha) * cosine_decayed + alpha;
    decay_from_lr * decayed
}

/// Keras's `PiecewiseConstantDecay.__call__`: a sum of each value times whether the step is in
/// its interval, in Keras's order (first, last, then the middle ones). The sum rather than a
/// lookup keeps Keras's result for any input: an infinite or NaN value makes every step NaN
/// (`0 * inf`), and boundaries out of order can add several values.
fn piecewise(t: f64, boundaries: &[f64], values: &[f64]) -> f64 {
    let (Some(&first), Some(&last), Some(&v_first), Some(&v_last)) =
        (boundaries.first(), boundaries.last(), values.first(), values.last())
    else {
        return 0.0;
    };
    // Keras casts the boundaries to the step's dtype (int32), truncating toward zero.
    let b = libm::trunc;
    let is = |c: bool| if c { 1.0 } else { 0.0 };
    let mut result = 0.0;
    result += is(t <= b(first)) * v_first;
    result += is(t > b(last)) * v_last;
    for (pair, &value) in boundaries.windows(2).zip(values.iter().skip(1)) {
        result += is(t > b(pair[0]) && t <= b(pair[1])) * value;
    }
    result
}

impl From<f64> for LearningRate {
    /// A constant learning rate, as Keras takes a float `learning_rate`.
    fn from(lr: f64) -> Self {
        Self::Constant(lr)
    }
}

/// A schedule's arguments that Keras refuses.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ScheduleError {
    /// `decay_steps` was not > 0.
    DecaySteps(f64),
    /// A piecewise schedule's `values` did not have one more entry than its `boundaries`.
    Lengths {
        /// How many boundaries there were.
        boundaries: usize,
        /// How many values there were.
        values: usize,
    },
    /// A piecewise schedule had no boundaries.
    NoBoundaries,
}

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DecaySteps(d) => write!(f, "Argument `decay_steps` must be > 0. Received: decay_steps={d}"),
            Self::Lengths { boundaries, values } => write!(
                f,
                "The length of boundaries should be 1 less than the length of values. Received: \
                 {boundaries} boundaries and {values} values."
            ),
            Self::NoBoundaries => f.write_str("PiecewiseConstantDecay needs at least one boundary"),
        }
    }
}

impl core::error::Error for ScheduleError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps<const N: usize>(lr: LearningRate) -> [f64; N] {
        core::array::from_fn(|i| lr.at(i as u64))
    }

    /// `expected` are Keras's float32 values; `at` is compared once cast to f32, as the trainer
    /// casts it, within `rel` of Keras's value.
    fn assert_keras<const N: usize>(lr: LearningRate, expected: [f32; N], rel: f32) {
        for (i, (got, want)) in steps::<N>(lr).into_iter().zip(expected).enumerate() {
            let got = got as f32;
            assert!((got - want).abs() <= rel * want.abs(), "step {i}: {got} vs Keras's {want}");
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-15 * b.abs().max(1e-300)
    }

    #[test]
    fn a_constant_rate_is_the_same_at_every_step() {
        let lr = LearningRate::from(0.25);
        assert_eq!(lr, LearningRate::Constant(0.25));
        assert_eq!(steps::<3>(lr), [0.25; 3]);
    }

    #[test]
    fn exponential_decay_halves_every_decay_steps_and_interpolates_between() {
        let lr = LearningRate::exponential_decay(0.1, 2.0, 0.5);
        let [a, b, c, d] = steps::<4>(lr);
        assert!(close(a, 0.1));
        assert!(close(b, 0.1 / 2f64.sqrt()), "{b}");
        assert!(close(c, 0.05));
        assert!(close(d, 0.025 * 2f64.sqrt()), "{d}");
    }

    #[test]
    fn a_staircase_exponential_decay_drops_only_at_multiples_of_decay_steps() {
        let lr = LearningRate::ExponentialDecay {
            initial_learning_rate: 1.0,
            decay_steps: 2.0,
            decay_rate: 0.1,
            staircase: true,
        };
        assert_eq!(steps::<5>(lr), [1.0, 1.0, 0.1, 0.1, 0.010000000000000002]);
    }

    #[test]
    fn cosine_decay_follows_half_a_cosine_to_alpha_and_stays_there() {
        let lr = LearningRate::CosineDecay {
            initial_learning_rate: 1.0,
            decay_steps: 4.0,
            alpha: 0.5,
            warmup_target: None,
            warmup_steps: 0.0,
        };
        let got = steps::<6>(lr);
        // 0.5 * (1 + cos(pi * t / 4)) scaled into [alpha, 1].
        let c = 0.5 * (1.0 + core::f64::consts::FRAC_1_SQRT_2);
        let want = [1.0, 0.5 * c + 0.5, 0.75, 0.5 * (1.0 - c) + 0.5, 0.5, 0.5];
        for (g, w) in got.into_iter().zip(want) {
            assert!((g - w).abs() < 1e-15, "{got:?}");
        }
    }

    #[test]
    fn cosine_decay_warms_up_linearly_then_decays_from_the_warmup_target() {
        let lr = LearningRate::CosineDecay {
            initial_learning_rate: 0.0,
            decay_steps: 2.0,
            alpha: 0.0,
            warmup_target: Some(1.0),
            warmup_steps: 4.0,
        };
        let got = steps::<8>(lr);
        let want = [0.0, 0.25, 0.5, 0.75, 1.0, 0.5, 0.0, 0.0];
        for (g, w) in got.into_iter().zip(want) {
            assert!((g - w).abs() < 1e-15, "{got:?}");
        }
    }

    #[test]
    fn piecewise_constant_decay_keeps_a_value_through_its_boundary_step() {
        let lr = LearningRate::piecewise_constant_decay(&[1.0, 3.0], &[1.0, 0.5, 0.25]).unwrap();
        assert_eq!(steps::<6>(lr), [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]);
    }

    #[test]
    fn piecewise_constant_decay_truncates_fractional_boundaries_as_keras_casts_them_to_int() {
        // Keras casts -0.5 to int32 0, so step 0 is still "<= boundaries[0]".
        let lr = LearningRate::piecewise_constant_decay(&[-0.5, 1.5], &[1.0, 2.0, 3.0]).unwrap();
        assert_eq!(steps::<3>(lr), [1.0, 2.0, 3.0]);
    }

    #[test]
    fn piecewise_constant_decay_refuses_mismatched_or_empty_lists() {
        assert_eq!(
            LearningRate::piecewise_constant_decay(&[1.0, 2.0], &[1.0, 2.0]),
            Err(ScheduleError::Lengths { boundaries: 2, values: 2 })
        );
        assert_eq!(LearningRate::piecewise_constant_decay(&[], &[1.0]), Err(ScheduleError::NoBoundaries));
    }

    #[test]
    fn decays_refuse_non_positive_decay_steps() {
        assert_eq!(
            LearningRate::exponential_decay(0.1, 0.0, 0.5).validate(),
            Err(ScheduleError::DecaySteps(0.0))
        );
        assert_eq!(LearningRate::cosine_decay(0.1, -1.0).validate(), Err(ScheduleError::DecaySteps(-1.0)));
        assert!(LearningRate::cosine_decay(0.1, f64::NAN).validate().is_err());
        assert_eq!(LearningRate::cosine_decay(0.1, 1.0).validate(), Ok(()));
    }

    // Keras parity. Each expected row was printed by Keras 3.15.1 (JAX 0.10.2 backend, CPU) with
    //
    //     import os; os.environ["KERAS_BACKEND"] = "jax"
    //     import numpy as np
    //     from keras import ops
    //     from keras.optimizers import schedules as S
    //     def sched(s, n):
    //         print(", ".join(str(np.float32(s(ops.convert_to_tensor(i, "int32"))))
    //                         for i in range(n)))
    //
    // and the call in each test's comment (the step is an int32 tensor, as `iterations` is).

    #[test]
    fn exponential_decay_matches_keras() {
        // sched(S.ExponentialDecay(0.1, 3, 0.5), 8)
        assert_keras(
            LearningRate::exponential_decay(0.1, 3.0, 0.5),
            [0.1, 0.07937005, 0.06299605, 0.05, 0.039685026, 0.031498026, 0.025, 0.019842515],
            1e-6,
        );
        // sched(S.ExponentialDecay(0.1, 3, 0.5, staircase=True), 8)
        assert_keras(
            LearningRate::ExponentialDecay {
                initial_learning_rate: 0.1,
                decay_steps: 3.0,
                decay_rate: 0.5,
                staircase: true,
            },
            [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025],
            0.0,
        );
    }

    #[test]
    fn cosine_decay_matches_keras() {
        // sched(S.CosineDecay(0.1, 5), 8): Keras computes 1 + cos(pi * t) in float32, which
        // cancels towards the end (Keras is 2e-7 relative off the exact value at step 3, 3e-7 at
        // step 4); at step 5 float32's cos(pi) rounds to exactly -1, as f64's is.
        assert_keras(
            LearningRate::cosine_decay(0.1, 5.0),
            [0.1, 0.090450846, 0.06545085, 0.034549143, 0.009549147, 0.0, 0.0, 0.0],
            1e-6,
        );
        // sched(S.CosineDecay(0.1, 5, alpha=0.2), 8)
        assert_keras(
            LearningRate::CosineDecay {
                initial_learning_rate: 0.1,
                decay_steps: 5.0,
                alpha: 0.2,
                warmup_target: None,
                warmup_steps: 0.0,
            },
            [0.1, 0.092360675, 0.07236068, 0.047639318, 0.027639318, 0.020000001, 0.020000001, 0.020000001],
            1e-6,
        );
        // sched(S.CosineDecay(0.0, 4, alpha=0.1, warmup_target=0.2, warmup_steps=3), 10)
        assert_keras(
            LearningRate::CosineDecay {
                initial_learning_rate: 0.0,
                decay_steps: 4.0,
                alpha: 0.1,
                warmup_target: Some(0.2),
                warmup_steps: 3.0,
            },
            [
                0.0,
                0.06666667,
                0.13333334,
                0.2,
                0.17363961,
                0.10999999,
                0.046360392,
                0.020000001,
                0.020000001,
                0.020000001,
            ],
            1e-6,
        );
    }

    #[test]
    fn piecewise_constant_decay_matches_keras() {
        // sched(S.PiecewiseConstantDecay([2, 4], [0.3, 0.2, 0.1]), 7)
        assert_keras(
            LearningRate::piecewise_constant_decay(&[2.0, 4.0], &[0.3, 0.2, 0.1]).unwrap(),
            [0.3, 0.3, 0.3, 0.2, 0.2, 0.1, 0.1],
            0.0,
        );
    }
}
