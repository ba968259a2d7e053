//! Keras's callbacks: [`EarlyStopping`], and saving the best weights to a file.

use super::fit::{Callback, Control, Logs};
use crate::{Float, Model};
use alloc::vec::Vec;

/// Keras's `EarlyStopping`: stops training once `monitor` has not improved by more than
/// `min_delta` for `patience` epochs; with `restore_best_weights`, puts back the weights of the
/// best epoch when it stops (as Keras, only if it stopped early).
#[derive(Clone, Debug)]
pub struct EarlyStopping<T> {
    /// The logged value watched (`"val_loss"`, Keras's default).
    pub monitor: &'static str,
    /// The smallest change that counts as an improvement.
    pub min_delta: f64,
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// Whether higher is better: Keras's `mode="auto"` picks it for names containing `acc`.
    pub maximize: bool,
    /// Whether to restore the best epoch's weights on stopping.
    pub restore_best_weights: bool,
    best: f64,
    wait: usize,
    stopped: Option<usize>,
    best_weights: Vec<T>,
    /// The epoch whose value was best.
    pub best_epoch: usize,
}

impl<T: crate::Float> EarlyStopping<T> {
    /// Watching `monitor`, with Keras's defaults (`patience=0`, `min_delta=0`).
    pub fn new(monitor: &'static str) -> Self {
        let maximize = monitor.contains("acc") || monitor.contains("auc");
        EarlyStopping {
            monitor,
            min_delta: 0.0,
            patience: 0,
            maximize,
            restore_best_weights: false,
            best: if maximize { f64::NEG_INFINITY } else { f64::INFINITY },
            wait: 0,
            stopped: None,
            best_weights: Vec::new(),
            best_epoch: 0,
        }
    }

    /// Epochs without improvement before stopping.
    pub fn patience(mut self, patience: usize) -> Self {
        self.patience = patience;
        self
    }

    /// The smallest change that counts as an improvement.
    pub fn min_delta(mut self, min_delta: f64) -> Self {
        self.min_delta = min_delta.abs();
        self
    }

    /// Restores the best epoch's weights when it stops early.
    pub fn restore_best_weights(mut self, restore: bool) -> Self {
        self.restore_best_weights = restore;
        self
    }

    /// The epoch it stopped after, if it stopped training.
    pub fn stopped_epoch(&self) -> Option<usize> {
        self.stopped
    }

    fn improves(&self, value: f64) -> bool {
        if self.maximize { value - self.min_delta > self.best } else { value + self.min_delta < self.best }
    }
}

impl<M: Model> Callback<M> for EarlyStopping<M::Scalar> {
    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, model: &mut M) -> Control {
        let Some(value) = logs.get(self.monitor) else { return Control::Continue };
        if self.restore_best_weights && self.best_weights.is_empty() {
            self.best_weights = alloc::vec![M::Scalar::ZERO; M::PARAMS];
            let _ = model.save_params(&mut self.best_weights);
        }
        self.wait += 1;
        if self.improves(value) {
            self.best = value;
            self.best_epoch = epoch;
            if self.restore_best_weights {
                let _ = model.save_params(&mut self.best_weights);
            }
            self.wait = 0;
            return Control::Continue;
        }
        if self.wait >= self.patience && epoch > 0 {
            self.stopped = Some(epoch);
            return Control::Stop;
        }
        Control::Continue
    }

    fn on_train_end(&mut self, model: &mut M) {
        if self.stopped.is_some() && self.restore_best_weights && !self.best_weights.is_empty() {
            let _ = model.load_params(&self.best_weights);
        }
    }
}

/// Keras's `ModelCheckpoint(filepath, monitor, save_best_only=True, save_weights_only=True)`:
/// writes the model's weights to `path` whenever `monitor` improves (every epoch without
/// `save_best_only`), in the format its extension names: `.weights.h5` (Keras's, with the
/// `keras` feature), `.safetensors` (with the `safetensors` feature), anything else nn's raw
/// format. A write that fails is kept in [`ModelCheckpoint::error`] and training goes on, as
/// Keras only warns.
#[cfg(feature = "std")]
#[derive(Debug)]
pub struct ModelCheckpoint {
    /// Where the weights go.
    pub path: std::path::PathBuf,
    /// The logged value watched (`"val_loss"`, Keras's default).
    pub monitor: &'static str,
    /// Whether to write only when `monitor` improves.
    pub save_best_only: bool,
    maximize: bool,
    best: f64,
    /// The last write's error, if it failed.
    pub error: Option<std::string::String>,
    /// The epochs whose weights were written.
    pub saved: Vec<usize>,
}

#[cfg(feature = "std")]
impl ModelCheckpoint {
    /// Writing the best weights by `monitor` to `path`.
    pub fn new(path: impl Into<std::path::PathBuf>, monitor: &'static str) -> Self {
        let maximize = monitor.contains("acc") || monitor.contains("auc");
        ModelCheckpoint {
            path: path.into(),
            monitor,
            save_best_only: true,
            maximize,
            best: if maximize { f64::NEG_INFINITY } else { f64::INFINITY },
            error: None,
            saved: Vec::new(),
        }
    }

    /// Writing after every epoch, not only the best.
    pub fn save_best_only(mut self, best_only: bool) -> Self {
        self.save_best_only = best_only;
        self
    }

    fn write<M: Model>(&self, model: &M) -> Result<(), std::string::String> {
        use crate::weights::WeightFiles;
        use std::string::ToString;
        let name = self.path.to_string_lossy();
        let bytes = if name.ends_with(".weights.h5") {
            #[cfg(feature = "keras")]
            {
                model.to_keras_weights().map_err(|e| e.to_string())?
            }
            #[cfg(not(feature = "keras"))]
            return Err("`.weights.h5` files need nn's `keras` feature".to_string());
        } else if name.ends_with(".safetensors") {
            #[cfg(feature = "safetensors")]
            {
                model.to_safetensors().map_err(|e| e.to_string())?
            }
            #[cfg(not(feature = "safetensors"))]
            return Err("`.safetensors` files need nn's `safetensors` feature".to_string());
        } else {
            model.to_bytes()
        };
        std::fs::write(&self.path, bytes).map_err(|e| e.to_string())
    }
}

#[cfg(feature = "std")]
impl<M: Model> Callback<M> for ModelCheckpoint {
    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, model: &mut M) -> Control {
        let value = logs.get(self.monitor);
        let improved = value.is_some_and(|v| if self.maximize { v > self.best } else { v < self.best });
        if improved {
            self.best = value.unwrap_or(self.best);
        }
        if improved || !self.save_best_only {
            match self.write(model) {
                Ok(()) => {
                    self.saved.push(epoch);
                    self.error = None;
                }
                Err(e) => self.error = Some(e),
            }
        }
        Control::Continue
    }
}
