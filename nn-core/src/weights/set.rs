//! What the weight files read and write: a model's layers (for Keras's keys) and its weights in
//! order, each with its layer's name, its own name and shape. Every [`Model`] is a
//! [`WeightSet`]; a [`WeightTable`] is one known only at run time (the `nn convert` command's),
//! so one implementation of each format serves both.

use crate::layer::{WeightMut, WeightRef};
use crate::{Float, LayerInfo, Model};

/// A model's weights as the files see them; every [`crate::weights::WeightFiles`] method works
/// on any of them.
pub trait WeightSet {
    /// The values' type.
    type Element: Float;
    /// The model's name (Keras writes it on the root of a `.weights.h5` file).
    fn model_name(&self) -> &'static str;
    /// The model's layers, as [`Model::LAYERS`].
    fn layer_infos(&self) -> &'static [LayerInfo];
    /// How many values the weights hold.
    fn param_count(&self) -> usize;
    /// Calls `f(layer_name, weight)` for every weight, in Keras's `model.weights` order.
    fn for_each_weight(&self, f: &mut dyn FnMut(&'static str, WeightRef<'_, Self::Element>));
    /// As [`WeightSet::for_each_weight`], with the values writable.
    fn for_each_weight_mut(&mut self, f: &mut dyn FnMut(&'static str, WeightMut<'_, Self::Element>));
}

impl<M: Model> WeightSet for M {
    type Element = M::Scalar;

    fn model_name(&self) -> &'static str {
        M::NAME
    }

    fn layer_infos(&self) -> &'static [LayerInfo] {
        M::LAYERS
    }

    fn param_count(&self) -> usize {
        M::PARAMS
    }

    fn for_each_weight(&self, f: &mut dyn FnMut(&'static str, WeightRef<'_, Self::Element>)) {
        self.visit_weights(f);
    }

    fn for_each_weight_mut(&mut self, f: &mut dyn FnMut(&'static str, WeightMut<'_, Self::Element>)) {
        self.visit_weights_mut(f);
    }
}

/// One weight of a [`WeightTable`]: where it is and what it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableWeight {
    /// The name its layer visits it under (`dense_1`, a wrapper's `bidirectional/forward_gru`).
    pub layer: &'static str,
    /// Its name in the layer (`kernel`).
    pub name: &'static str,
    /// Keras's shape.
    pub shape: &'static [usize],
}

/// A model's weights known only at run time: its layers and each weight's place, with values,
/// in the model's order. It reads and writes every format a compiled model does
/// ([`crate::weights::WeightFiles`]), with the same checks.
///
/// ```
/// use nn_core::weights::{TableWeight, WeightFiles, WeightTable};
/// use nn_core::LayerInfo;
///
/// static LAYERS: [LayerInfo; 1] = [LayerInfo {
///     name: "dense",
///     class: "Dense",
///     output_shape: &[1],
///     further_outputs: &[],
///     params: 3,
///     non_trainable: 0,
///     h5_group: "vars",
///     sublayers: &[],
///     inbound: &[],
///     calls: 1,
///     layers: &[],
/// }];
/// let weights = [
///     TableWeight { layer: "dense", name: "kernel", shape: &[2, 1] },
///     TableWeight { layer: "dense", name: "bias", shape: &[1] },
/// ];
/// let mut table = WeightTable::<f32>::zeros("model", &LAYERS, &weights);
/// table.load_bytes(&WeightTable::<f32>::zeros("model", &LAYERS, &weights).to_bytes()).unwrap();
/// assert_eq!(table.values().count(), 2);
/// ```
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, PartialEq)]
pub struct WeightTable<T> {
    name: &'static str,
    layers: &'static [LayerInfo],
    weights: alloc::vec::Vec<(TableWeight, alloc::vec::Vec<T>)>,
}

#[cfg(feature = "alloc")]
impl<T: Float> WeightTable<T> {
    /// The table of a model named `name` with these layers and weights, every value zero.
    pub fn zeros(name: &'static str, layers: &'static [LayerInfo], weights: &[TableWeight]) -> Self {
        let weights =
            weights.iter().map(|w| (*w, alloc::vec![T::ZERO; w.shape.iter().product::<usize>()])).collect();
        WeightTable { name, layers, weights }
    }

    /// Each weight with its values, in order.
    pub fn values(&self) -> impl Iterator<Item = (&TableWeight, &[T])> {
        self.weights.iter().map(|(w, v)| (w, v.as_slice()))
    }
}

#[cfg(feature = "alloc")]
impl<T: Float> WeightSet for WeightTable<T> {
    type Element = T;

    fn model_name(&self) -> &'static str {
        self.name
    }

    fn layer_infos(&self) -> &'static [LayerInfo] {
        self.layers
    }

    fn param_count(&self) -> usize {
        self.weights.iter().map(|(_, v)| v.len()).sum()
    }

    fn for_each_weight(&self, f: &mut dyn FnMut(&'static str, WeightRef<'_, T>)) {
        for (w, data) in &self.weights {
            f(w.layer, WeightRef { name: w.name, shape: w.shape, data });
        }
    }

    fn for_each_weight_mut(&mut self, f: &mut dyn FnMut(&'static str, WeightMut<'_, T>)) {
        for (w, data) in &mut self.weights {
            f(w.layer, WeightMut { name: w.name, shape: w.shape, data });
        }
    }
}
