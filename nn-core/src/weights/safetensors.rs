//! safetensors files with Keras's names (`dense_1/kernel`) and shapes.

use super::WeightSet;
use super::WeightsError;
use crate::Float;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

/// Where a model's weight is in a file: the tensor's name, its shape there, and whether it is
/// stored transposed (PyTorch's `Linear.weight` is `[out, in]`, Keras's kernel `[in, out]`).
pub(crate) struct Place {
    pub name: String,
    pub shape: Vec<usize>,
    pub transposed: bool,
}

/// Keras's names and shapes: `dense_1/kernel`, `[in, out]`.
pub(crate) fn keras_place(layer: &str, weight: &str, shape: &[usize]) -> Option<Place> {
    Some(Place { name: format!("{layer}/{weight}"), shape: shape.to_vec(), transposed: false })
}

/// Reads every weight of `model` from `bytes`, each where `place` says, or changes nothing and
/// says why. `place` returning `None` means the caller did not map that layer.
pub(crate) fn load<W: WeightSet + ?Sized>(
    model: &mut W,
    bytes: &[u8],
    place: &dyn Fn(&'static str, &'static str, &'static [usize]) -> Option<Place>,
) -> Result<(), WeightsError> {
    let file = SafeTensors::deserialize(bytes).map_err(|e| WeightsError::Format(e.to_string()))?;
    // First pass: every weight is there, with its shape and a readable type.
    let mut error = None;
    let mut used: Vec<String> = Vec::new();
    model.for_each_weight(&mut |layer, w| {
        if error.is_some() {
            return;
        }
        let Some(at) = place(layer, w.name, w.shape) else {
            error = Some(WeightsError::Unmapped { layer });
            return;
        };
        match file.tensor(&at.name) {
            Err(_) => {
                error =
                    Some(WeightsError::Missing { layer, weight: w.name, tensor: at.name, expected: at.shape })
            }
            Ok(t) if t.shape() != at.shape.as_slice() => {
                error = Some(WeightsError::Shape {
                    layer,
                    weight: w.name,
                    expected: at.shape,
                    found: t.shape().to_vec(),
                })
            }
            Ok(t) if !matches!(t.dtype(), Dtype::F32 | Dtype::F64) => {
                error = Some(WeightsError::Dtype { layer, weight: w.name, found: format!("{:?}", t.dtype()) })
            }
            Ok(_) => used.push(at.name),
        }
    });
    if let Some(error) = error {
        return Err(error);
    }
    if let Some(extra) = file.names().into_iter().find(|n| !used.iter().any(|u| u == n)) {
        return Err(WeightsError::Extra { name: extra.to_string() });
    }
    // Second pass: copy, converting f32 <-> f64 where the file and the model differ, and
    // transposing where the file stores a matrix the other way round.
    model.for_each_weight_mut(&mut |layer, w| {
        let Some(at) = place(layer, w.name, w.shape) else { return };
        if let Ok(t) = file.tensor(&at.name) {
            read_into(&t, w.data);
            if at.transposed
                && let [rows, cols] = at.shape[..]
            {
                transpose(w.data, rows, cols);
            }
        }
    });
    Ok(())
}

/// Transposes a row-major `rows × cols` matrix in place, into `cols × rows`.
fn transpose<T: Copy>(data: &mut [T], rows: usize, cols: usize) {
    let copy: Vec<T> = data.to_vec();
    for r in 0..rows {
        for c in 0..cols {
            if let (Some(dst), Some(src)) = (data.get_mut(c * rows + r), copy.get(r * cols + c)) {
                *dst = *src;
            }
        }
    }
}

fn read_into<T: Float>(t: &TensorView<'_>, out: &mut [T]) {
    match t.dtype() {
        Dtype::F32 => {
            for (o, b) in out.iter_mut().zip(t.data().chunks_exact(4)) {
                *o = T::of(f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64);
            }
        }
        Dtype::F64 => {
            for (o, b) in out.iter_mut().zip(t.data().chunks_exact(8)) {
                *o = T::of(f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]));
            }
        }
        _ => {}
    }
}

/// `model`'s weights as a safetensors file, in the model's element type.
pub(crate) fn save<W: WeightSet + ?Sized>(model: &W) -> Result<Vec<u8>, WeightsError> {
    super::shared_name(model)?;
    let dtype = if core::mem::size_of::<W::Element>() == 4 { Dtype::F32 } else { Dtype::F64 };
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    model.for_each_weight(&mut |layer, w| {
        let mut data = Vec::with_capacity(core::mem::size_of_val(w.data));
        for v in w.data {
            if dtype == Dtype::F32 {
                data.extend_from_slice(&(v.as_f64() as f32).to_le_bytes());
            } else {
                data.extend_from_slice(&v.as_f64().to_le_bytes());
            }
        }
        tensors.push((format!("{layer}/{}", w.name), w.shape.to_vec(), data));
    });
    let views = tensors
        .iter()
        .map(|(name, shape, data)| TensorView::new(dtype, shape.clone(), data).map(|v| (name.as_str(), v)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| WeightsError::Format(e.to_string()))?;
    safetensors::serialize(views, None).map_err(|e| WeightsError::Format(e.to_string()))
}
