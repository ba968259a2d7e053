//! Which instruction-set level this CPU runs, detected once.

/// An instruction-set level the kernels are compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Whatever the compilation target guarantees (SSE2 on x86-64, NEON on aarch64).
    Portable,
    /// x86-64 with AVX2 and FMA.
    Avx2,
    /// x86-64 with AVX-512F (and AVX2, FMA).
    Avx512,
}

/// The best level this CPU supports: detected at run time with `std` on x86-64 (cached after the
/// first call), else what the compilation target enables.
#[inline]
pub fn level() -> Level {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    {
        use core::sync::atomic::{AtomicU8, Ordering};
        static CACHE: AtomicU8 = AtomicU8::new(0);
        match CACHE.load(Ordering::Relaxed) {
            1 => Level::Portable,
            2 => Level::Avx2,
            3 => Level::Avx512,
            _ => {
                let level = detect();
                CACHE.store(level as u8 + 1, Ordering::Relaxed);
                level
            }
        }
    }
    #[cfg(not(all(feature = "std", target_arch = "x86_64")))]
    {
        compiled()
    }
}

/// Whether this CPU can run code compiled for `level`.
#[inline]
pub fn supports(level: Level) -> bool {
    level <= self::level()
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
fn detect() -> Level {
    if std::is_x86_feature_detected!("avx512f")
        && std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("fma")
    {
        Level::Avx512
    } else if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        Level::Avx2
    } else {
        Level::Portable
    }
}

#[cfg(not(all(feature = "std", target_arch = "x86_64")))]
const fn compiled() -> Level {
    if cfg!(all(target_arch = "x86_64", target_feature = "avx512f", target_feature = "fma")) {
        Level::Avx512
    } else if cfg!(all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma")) {
        Level::Avx2
    } else {
        Level::Portable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_is_stable_and_ordered() {
        assert_eq!(level(), level());
        assert!(supports(Level::Portable));
        assert!(Level::Portable < Level::Avx2 && Level::Avx2 < Level::Avx512);
    }
}
