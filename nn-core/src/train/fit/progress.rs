//! `fit`'s progress on standard error, in Keras's words: `Epoch 3/20`, then
//! `25/25 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - accuracy: 0.9600 - loss: 0.1234`, redrawn as the
//! epoch goes (`verbose=1`) or written once at its end (`verbose=2`). Twenty cells, as Keras's
//! `Progbar` draws them; nothing without `std`.

use super::{Logs, Verbosity};

/// One epoch's progress.
#[cfg_attr(not(feature = "std"), allow(dead_code))]
pub(super) struct Bar {
    verbose: Verbosity,
    steps: usize,
    done: usize,
    #[cfg(feature = "std")]
    start: std::time::Instant,
}

impl Bar {
    /// Announces epoch `epoch` (from 0) of `epochs`, of `steps` steps.
    pub(super) fn start(verbose: Verbosity, epoch: usize, epochs: usize, steps: usize) -> Self {
        #[cfg(feature = "std")]
        if verbose != Verbosity::Silent {
            std::eprintln!("Epoch {}/{epochs}", epoch + 1);
        }
        #[cfg(not(feature = "std"))]
        let _ = (epoch, epochs);
        Bar {
            verbose,
            steps,
            done: 0,
            #[cfg(feature = "std")]
            start: std::time::Instant::now(),
        }
    }

    /// After step `done` of the epoch; `logs` is called only if the bar is drawn.
    pub(super) fn step(&mut self, done: usize, logs: &dyn Fn() -> Logs) {
        self.done = done;
        #[cfg(feature = "std")]
        if self.verbose == Verbosity::Bar {
            std::eprint!("\r{}", self.line(&logs()));
        }
        #[cfg(not(feature = "std"))]
        let _ = logs;
    }

    /// The epoch's last line, with the validation logs.
    pub(super) fn finish(&self, logs: &Logs) {
        #[cfg(feature = "std")]
        match self.verbose {
            Verbosity::Bar => std::eprintln!("\r{}", self.line(logs)),
            Verbosity::Line => std::eprintln!("{}", self.line(logs)),
            Verbosity::Silent => {}
        }
        #[cfg(not(feature = "std"))]
        let _ = logs;
    }

    #[cfg(feature = "std")]
    fn line(&self, logs: &Logs) -> std::string::String {
        use std::string::ToString;
        let elapsed = self.start.elapsed().as_secs_f64();
        let per_step = elapsed / self.done.max(1) as f64;
        let per_step = if per_step >= 1.0 {
            std::format!("{}s/step", per_step.round())
        } else if per_step >= 1e-3 {
            std::format!("{}ms/step", (per_step * 1e3).round())
        } else {
            std::format!("{}us/step", (per_step * 1e6).round())
        };
        let width = self.steps.to_string().len();
        let count = std::format!("{:>width$}/{}", self.done, self.steps);
        match self.verbose {
            Verbosity::Line => std::format!("{count} - {}s - {per_step} - {logs}", elapsed as u64),
            _ => {
                let filled = 20 * self.done / self.steps.max(1);
                let bar: std::string::String = (0..20).map(|i| if i < filled { '━' } else { ' ' }).collect();
                std::format!("{count} {bar} {}s {per_step} - {logs}", elapsed as u64)
            }
        }
    }
}
