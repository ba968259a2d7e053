//! Weight files for every model, through its weight visitors: `Model` itself knows only flat
//! slices of parameters, and each format here walks `WeightSet::for_each_weight(_mut)` (a
//! model's `visit_weights(_mut)`) by Keras's names and shapes. In the prelude, so
//! `model.load_keras(...)` reads as a method.

use super::WeightSet;
use crate::Float;

/// Loading and saving a model's weights in the raw format, safetensors and Keras's files;
/// implemented for every [`WeightSet`]: every [`crate::Model`], and a
/// [`WeightTable`](super::WeightTable) built at run time.
pub trait WeightFiles: WeightSet {
    /// Overwrites every weight from bytes in the raw format of [`crate::weights::bytes`] (as
    /// [`WeightFiles::to_bytes`] writes them). On a mismatch nothing is written.
    fn load_bytes(&mut self, bytes: &[u8]) -> Result<(), crate::weights::bytes::BytesError> {
        let width = core::mem::size_of::<Self::Element>();
        crate::weights::bytes::check(bytes, self.param_count(), width)?;
        let mut values = bytes[crate::weights::bytes::HEADER..].chunks_exact(width);
        self.for_each_weight_mut(&mut |_, w| {
            for (v, b) in w.data.iter_mut().zip(&mut values) {
                *v = match *b {
                    [a, b, c, d] => Self::Element::of(f32::from_le_bytes([a, b, c, d]) as f64),
                    [a, b, c, d, e, f, g, h] => {
                        Self::Element::of(f64::from_le_bytes([a, b, c, d, e, f, g, h]))
                    }
                    _ => *v,
                };
            }
        });
        Ok(())
    }

    /// Every weight in the raw format of [`crate::weights::bytes`], for `include_bytes!` and the
    /// model type's `const fn from_bytes`.
    #[cfg(feature = "alloc")]
    fn to_bytes(&self) -> alloc::vec::Vec<u8> {
        let width = core::mem::size_of::<Self::Element>();
        let mut out =
            alloc::vec::Vec::with_capacity(crate::weights::bytes::HEADER + self.param_count() * width);
        out.extend_from_slice(&crate::weights::bytes::header(self.param_count(), width));
        self.for_each_weight(&mut |_, w| {
            for v in w.data {
                if width == 4 {
                    out.extend_from_slice(&(v.as_f64() as f32).to_le_bytes());
                } else {
                    out.extend_from_slice(&v.as_f64().to_le_bytes());
                }
            }
        });
        out
    }

    /// Overwrites every weight from a safetensors file whose tensors are named as Keras names
    /// them, `<layer>/<weight>` (`dense_1/kernel`), with Keras's shapes; f32 and f64 tensors are
    /// converted to the model's element type. A missing, extra or misshapen tensor is an error
    /// naming it, and nothing is written.
    #[cfg(feature = "safetensors")]
    fn load_safetensors(&mut self, bytes: &[u8]) -> Result<(), crate::weights::WeightsError> {
        crate::weights::shared_name(self)?;
        crate::weights::safetensors::load(self, bytes, &crate::weights::safetensors::keras_place)
    }

    /// Overwrites every weight from a safetensors file written by PyTorch
    /// (`safetensors.torch.save_file(module.state_dict(), ...)`), through an explicit mapping
    /// from each of the model's layers with weights to its PyTorch module's name:
    /// `&[("dense", "0"), ("dense_1", "2")]` for `nn.Sequential(Linear, ReLU, Linear)`.
    ///
    /// A Dense layer's kernel is the module's `<name>.weight`, stored `[out, in]` and transposed
    /// into Keras's `[in, out]`; its bias is `<name>.bias`. Every check of
    /// [`WeightFiles::load_safetensors`] applies, and a layer with weights missing from `modules` is
    /// an error.
    #[cfg(feature = "safetensors")]
    fn load_torch_safetensors(
        &mut self,
        bytes: &[u8],
        modules: &[(&str, &str)],
    ) -> Result<(), crate::weights::WeightsError> {
        use crate::weights::safetensors::Place;
        use alloc::format;
        let place = |layer: &'static str, weight: &'static str, shape: &'static [usize]| {
            let (_, module) = modules.iter().find(|(l, _)| *l == layer)?;
            Some(match (weight, shape) {
                ("kernel", [rows, cols]) => Place {
                    name: format!("{module}.weight"),
                    shape: alloc::vec![*cols, *rows],
                    transposed: true,
                },
                ("kernel", _) => {
                    Place { name: format!("{module}.weight"), shape: shape.to_vec(), transposed: false }
                }
                (other, _) => {
                    Place { name: format!("{module}.{other}"), shape: shape.to_vec(), transposed: false }
                }
            })
        };
        crate::weights::safetensors::load(self, bytes, &place)
    }

    /// Every weight as a safetensors file, named and shaped as [`WeightFiles::load_safetensors`] reads.
    #[cfg(feature = "safetensors")]
    fn to_safetensors(&self) -> Result<alloc::vec::Vec<u8>, crate::weights::WeightsError> {
        crate::weights::safetensors::save(self)
    }

    /// Overwrites every weight from a Keras 3 `.weights.h5` file (`model.save_weights(...)`),
    /// where each layer's variables are `layers/<class>[_N]/vars/<i>` (see
    /// [`crate::weights`]). A missing, extra or misshapen variable is an error naming the layer,
    /// and nothing is written.
    #[cfg(feature = "keras")]
    fn load_keras_weights(&mut self, h5: &[u8]) -> Result<(), crate::weights::WeightsError> {
        crate::weights::keras::load_h5(self, h5)
    }

    /// Every weight as a Keras 3 `.weights.h5` file, which Keras's `model.load_weights(...)`
    /// reads into the same architecture.
    #[cfg(feature = "keras")]
    fn to_keras_weights(&self) -> Result<alloc::vec::Vec<u8>, crate::weights::WeightsError> {
        crate::weights::keras::save_h5(self)
    }

    /// Overwrites every weight from a Keras 3 `.keras` archive (`model.save(...)`): its
    /// `model.weights.h5`, read as [`WeightFiles::load_keras_weights`] does.
    #[cfg(feature = "keras")]
    fn load_keras(&mut self, archive: &[u8]) -> Result<(), crate::weights::WeightsError> {
        let h5 = crate::weights::keras::archive_member(archive, "model.weights.h5")?;
        crate::weights::keras::load_h5(self, h5)
    }
}

impl<W: WeightSet + ?Sized> WeightFiles for W {}
