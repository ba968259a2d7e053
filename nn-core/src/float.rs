//! The element types a model can be built over.

use nalgebra::RealField;

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A floating-point element type for tensors: `f32` (the default everywhere) or `f64`.
///
/// The trait is sealed: model constructors such as [`crate::Model::boxed_zeros`] rely on an
/// all-zero bit pattern being a valid `0.0`, which holds for these two types.
///
/// ```
/// use nn_core::Float;
/// assert_eq!(<f32 as Float>::of(0.5), 0.5f32);
/// assert_eq!(2.0f64.erfc_(), libm::erfc(2.0));
/// ```
pub trait Float: RealField + Copy + Default + crate::kernels::Element + sealed::Sealed {
    /// `0.0`, usable in `const` contexts (trait methods are not).
    const ZERO: Self;
    /// `1.0`, usable in `const` contexts.
    const ONE: Self;

    /// Converts from `f64`, rounding to nearest (`FromPrimitive::from_f64` without the `Option`).
    fn of(v: f64) -> Self;
    /// Widens to `f64`.
    fn as_f64(self) -> f64;
    /// The complementary error function `1 - erf(x)`, accurate where `1 - erf(x)` is tiny (the
    /// exact GELU's negative tail). Named with a trailing underscore so it never shadows a method
    /// of nalgebra's `RealField` should it gain one.
    fn erfc_(self) -> Self;

    /// `e^x`, vectorizable: for `f32` a branch-free approximation within 3 ulp, for `f64` libm's.
    fn fast_exp(self) -> Self;
    /// `tanh(x)`, vectorizable: for `f32` a rational approximation within 5e-7 relative error,
    /// for `f64` libm's.
    fn fast_tanh(self) -> Self;
}

/// The two implementations differ only in which function does each job.
macro_rules! impl_float {
    ($t:ty, erfc: $erfc:path, exp: $exp:path, tanh: $tanh:path) => {
        impl Float for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            #[inline(always)]
            fn of(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn as_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn erfc_(self) -> Self {
                $erfc(self)
            }
            #[inline(always)]
            fn fast_exp(self) -> Self {
                $exp(self)
            }
            #[inline(always)]
            fn fast_tanh(self) -> Self {
                $tanh(self)
            }
        }
    };
}

impl_float!(f32, erfc: libm::erfcf, exp: crate::approx::exp_f32, tanh: crate::approx::tanh_f32);
// f64 keeps libm's exact functions.
impl_float!(f64, erfc: libm::erfc, exp: libm::exp, tanh: libm::tanh);

/// `v` as a `T`, in a `const` context (where [`Float::of`], a trait method, cannot run): the
/// macros write layer options that are tensors of numbers (Normalization's mean and variance
/// from a Keras config) with it.
///
/// ```
/// assert_eq!(nn_core::float::constant::<f32>(0.1), 0.1f32);
/// assert_eq!(nn_core::float::constant::<f64>(0.1), 0.1f64);
/// ```
pub const fn constant<T: Float>(v: f64) -> T {
    let mut out = T::ZERO;
    let slot = (&raw mut out).cast::<u8>();
    if core::mem::size_of::<T>() == 8 {
        // SAFETY: `Float` is sealed to `f32` and `f64`, so an 8-byte `T` is an `f64`, and `slot`
        // points at `out`.
        unsafe { slot.cast::<f64>().write(v) };
    } else {
        // SAFETY: as above: a `T` that is not 8 bytes is an `f32`.
        unsafe { slot.cast::<f32>().write(v as f32) };
    }
    out
}

/// `v` widened to `f64`, in a `const` context.
pub const fn to_f64<T: Float>(v: &T) -> f64 {
    let slot = (v as *const T).cast::<u8>();
    if core::mem::size_of::<T>() == 8 {
        // SAFETY: `Float` is sealed to `f32` and `f64`, so an 8-byte `T` is an `f64`, and `slot`
        // points at `v`.
        unsafe { slot.cast::<f64>().read() }
    } else {
        // SAFETY: as above: a `T` that is not 8 bytes is an `f32`.
        unsafe { slot.cast::<f32>().read() as f64 }
    }
}

/// The square root, in a `const` context (where `f64::sqrt` cannot run): Newton's iteration
/// from a guess with half the exponent, within an ulp of the correctly rounded root; NaN below
/// zero. BatchNormalization computes its scale with it when its weights are read at compile
/// time.
///
/// ```
/// use nn_core::float::sqrt;
/// assert_eq!(sqrt(4.0), 2.0);
/// for x in [2.0, 1.001e-3, 1e-300, 5e-324, 3.7e12, f64::MAX] {
///     assert!((sqrt(x) - x.sqrt()).abs() <= f64::EPSILON * x.sqrt(), "{x}");
/// }
/// assert!(sqrt(-1.0).is_nan());
/// ```
pub const fn sqrt(x: f64) -> f64 {
    if x.is_nan() || x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 || x == f64::INFINITY {
        return x;
    }
    // Halving the biased exponent gives a guess within a factor of 1.5 (far off only for
    // subnormals, where each step first halves the distance); near the root each step doubles
    // the correct digits, and the last may swing by an ulp, hence the bound.
    let mut y = f64::from_bits((x.to_bits() >> 1) + (1023u64 << 51));
    let mut i = 0;
    while i < 64 {
        let next = 0.5 * (y + x / y);
        if next == y {
            break;
        }
        y = next;
        i += 1;
    }
    y
}
