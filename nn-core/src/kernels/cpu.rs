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

/// The environment variable that caps the level, read once, at the first pass:
/// `NN_MAX_LEVEL=avx2` runs the AVX2 kernels on a CPU with AVX-512, `NN_MAX_LEVEL=portable` the
/// portable loops (`avx512`, or no variable, leaves the CPU's best). So any machine can run, test
/// and time every level, and a program can pin one.
pub const MAX_LEVEL_VAR: &str = "NN_MAX_LEVEL";

/// The level every pass runs at: the best this CPU supports (detected at run time with `std` on
/// x86-64, else what the compilation target enables), capped by [`MAX_LEVEL_VAR`] and
/// [`set_max_level`]. Cached after the first call.
#[inline]
pub fn level() -> Level {
    use core::sync::atomic::Ordering;
    match CACHE.load(Ordering::Relaxed) {
        1 => Level::Portable,
        2 => Level::Avx2,
        3 => Level::Avx512,
        _ => {
            let level = best().min(cap_from_env());
            CACHE.store(level as u8 + 1, Ordering::Relaxed);
            level
        }
    }
}

/// Caps the level of every later pass at `max` (a CPU's level is never raised), as
/// [`MAX_LEVEL_VAR`] does, and returns the level now in force. A pass already running keeps
/// its level; models share the setting, so it suits a program's start or a benchmark's rounds.
///
/// ```
/// use nn_core::kernels::cpu::{self, Level};
/// let best = cpu::set_max_level(Level::Avx512);
/// assert_eq!(cpu::set_max_level(Level::Portable), Level::Portable);
/// assert_eq!(cpu::level(), Level::Portable);
/// assert_eq!(cpu::set_max_level(Level::Avx512), best);
/// ```
pub fn set_max_level(max: Level) -> Level {
    let level = best().min(max);
    CACHE.store(level as u8 + 1, core::sync::atomic::Ordering::Relaxed);
    level
}

/// The level [`MAX_LEVEL_VAR`] names, in any case.
#[cfg(feature = "std")]
fn parse_level(name: &str) -> Option<Level> {
    [("avx512", Level::Avx512), ("avx2", Level::Avx2), ("portable", Level::Portable)]
        .into_iter()
        .find_map(|(n, level)| n.eq_ignore_ascii_case(name.trim()).then_some(level))
}

/// The cached level plus one (zero before the first call).
static CACHE: core::sync::atomic::AtomicU8 = core::sync::atomic::AtomicU8::new(0);

/// The best level this CPU supports.
fn best() -> Level {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    return detect();
    #[cfg(not(all(feature = "std", target_arch = "x86_64")))]
    return compiled();
}

/// [`MAX_LEVEL_VAR`]'s cap (none without `std`, or where the variable is unset). A value that
/// names no level is reported on standard error once and caps nothing.
fn cap_from_env() -> Level {
    #[cfg(feature = "std")]
    if let Some(value) = std::env::var_os(MAX_LEVEL_VAR) {
        match value.to_str().and_then(parse_level) {
            Some(level) => return level,
            None => {
                std::eprintln!("nn: ignoring {MAX_LEVEL_VAR}={value:?}: expected avx512, avx2 or portable")
            }
        }
    }
    Level::Avx512
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
    fn the_variable_names_a_level_in_any_case() {
        assert_eq!(parse_level("AVX2"), Some(Level::Avx2));
        assert_eq!(parse_level(" portable"), Some(Level::Portable));
        assert_eq!(parse_level("avx512"), Some(Level::Avx512));
        assert_eq!(parse_level("sse"), None);
    }

    #[test]
    fn detection_is_stable_and_ordered() {
        assert_eq!(level(), level());
        assert!(supports(Level::Portable));
        assert!(Level::Portable < Level::Avx2 && Level::Avx2 < Level::Avx512);
    }
}
