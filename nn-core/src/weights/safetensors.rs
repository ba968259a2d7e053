//! safetensors files with Keras's names (`dense_1/kernel`) and shapes.

use super::WeightsError;
use crate::{Float, Model};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

/// Reads every weight of `model` from `bytes`, or changes nothing and says why.
pub(crate) fn load<M: Model>(model: &mut M, bytes: &[u8]) -> Result<(), WeightsError> {
    let file = SafeTensors::deserialize(bytes).map_err(|e| WeightsError::Format(e.to_string()))?;
    // First pass: every weight is there, with its shape and a readable type.
    let mut error = None;
    let mut used: Vec<String> = Vec::new();
    model.visit_weights(&mut |layer, w| {
        if error.is_some() {
            return;
        }
        let name = format!("{layer}/{}", w.name);
        match file.tensor(&name) {
            Err(_) => error = Some(WeightsError::Missing { layer, weight: w.name, expected: w.shape }),
            Ok(t) if t.shape() != w.shape => {
                error = Some(WeightsError::Shape {
                    layer,
                    weight: w.name,
                    expected: w.shape,
                    found: t.shape().to_vec(),
                })
            }
            Ok(t) if !matches!(t.dtype(), Dtype::F32 | Dtype::F64) => {
                error = Some(WeightsError::Dtype { layer, weight: w.name, found: format!("{:?}", t.dtype()) })
            }
            Ok(_) => used.push(name),
        }
    });
    if let Some(error) = error {
        return Err(error);
    }
    if let Some(extra) = file.names().into_iter().find(|n| !used.iter().any(|u| u == n)) {
        return Err(WeightsError::Extra { name: extra.to_string() });
    }
    // Second pass: copy, converting f32 <-> f64 where the file and the model differ.
    model.visit_weights_mut(&mut |layer, w| {
        if let Ok(t) = file.tensor(&format!("{layer}/{}", w.name)) {
            read_into(&t, w.data);
        }
    });
    Ok(())
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
pub(crate) fn save<M: Model>(model: &M) -> Result<Vec<u8>, WeightsError> {
    let dtype = if core::mem::size_of::<M::Scalar>() == 4 { Dtype::F32 } else { Dtype::F64 };
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    model.visit_weights(&mut |layer, w| {
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
