//! `BatchNormalization`, `LayerNormalization`, `GroupNormalization`, `UnitNormalization` and
//! `RMSNormalization` (nn-core's `layers/normalization.rs`).

use super::params::{self, Kind, Param, param, positional};
use super::{Entry, LayerSpec};
use crate::ast::LayerCall;
use crate::ctxt::Ctxt;
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;
use std::rc::Rc;

const BATCH_PARAMS: &[Param] = &[
    param("axis", Kind::Axes),
    param("epsilon", Kind::Number),
    param("center", Kind::Bool),
    param("scale", Kind::Bool),
    param("momentum", Kind::Number),
];
const LAYER_PARAMS: &[Param] = &[
    param("axis", Kind::Axes),
    param("epsilon", Kind::Number),
    param("center", Kind::Bool),
    param("scale", Kind::Bool),
    param("rms_scaling", Kind::Bool),
];
const GROUP_PARAMS: &[Param] = &[
    positional("groups", Kind::Axis),
    param("axis", Kind::Axes),
    param("epsilon", Kind::Number),
    param("center", Kind::Bool),
    param("scale", Kind::Bool),
];
/// Keras fixes UnitNormalization's epsilon (1e-12): `axis` is its only option.
const UNIT_PARAMS: &[Param] = &[param("axis", Kind::Axes)];
const RMS_PARAMS: &[Param] = &[param("axis", Kind::Axes), param("epsilon", Kind::Number)];

pub const BATCH_NORMALIZATION: Entry = Entry {
    name: "BatchNormalization",
    params: BATCH_PARAMS,
    read: |c, cx| read(c, Norm::Batch, BATCH_PARAMS, cx),
};
pub const LAYER_NORMALIZATION: Entry = Entry {
    name: "LayerNormalization",
    params: LAYER_PARAMS,
    read: |c, cx| read(c, Norm::Layer { rms: false }, LAYER_PARAMS, cx),
};
pub const GROUP_NORMALIZATION: Entry = Entry {
    name: "GroupNormalization",
    params: GROUP_PARAMS,
    read: |c, cx| read(c, Norm::Group(32), GROUP_PARAMS, cx),
};
pub const UNIT_NORMALIZATION: Entry = Entry {
    name: "UnitNormalization",
    params: UNIT_PARAMS,
    read: |c, cx| read(c, Norm::Unit, UNIT_PARAMS, cx),
};
pub const RMS_NORMALIZATION: Entry =
    Entry { name: "RMSNormalization", params: RMS_PARAMS, read: |c, cx| read(c, Norm::Rms, RMS_PARAMS, cx) };

#[derive(Clone, Copy)]
enum Norm {
    Batch,
    Layer {
        rms: bool,
    },
    /// The number of groups; -1 is one per channel.
    Group(i64),
    /// UnitNormalization: no weights, no options but the axis.
    Unit,
    /// RMSNormalization: a `scale` weight, an `epsilon` (1e-6 by default).
    Rms,
}

struct Normalization {
    norm: Norm,
    axes: Option<Vec<i64>>,
    epsilon: f64,
    center: bool,
    scale: bool,
    /// BatchNormalization's `momentum`.
    momentum: f64,
}

fn read(call: &LayerCall, norm: Norm, params: &[Param], cx: &mut Ctxt) -> Option<Rc<dyn LayerSpec>> {
    let args = params::read(call, params, &[], cx)?;
    let norm = match norm {
        Norm::Layer { .. } => Norm::Layer { rms: args.bool(args.at("rms_scaling"), false) },
        Norm::Group(default) => Norm::Group(args.axes(args.at("groups")).map_or(default, |g| g[0])),
        batch => batch,
    };
    let axes = args.axes(args.at("axis"));
    if let Norm::Unit | Norm::Rms = norm {
        let epsilon = if matches!(norm, Norm::Rms) { args.number(args.at("epsilon"), 1e-6) } else { 0.0 };
        let (center, scale, momentum) = (false, matches!(norm, Norm::Rms), 0.99);
        return Some(Rc::new(Normalization { norm, axes, epsilon, center, scale, momentum }));
    }
    Some(Rc::new(Normalization {
        norm,
        axes,
        epsilon: args.number(args.at("epsilon"), 1e-3),
        center: args.bool(args.at("center"), true),
        scale: args.bool(args.at("scale"), true),
        momentum: if matches!(norm, Norm::Batch) { args.number(args.at("momentum"), 0.99) } else { 0.99 },
    }))
}

/// The axes Keras's `axes` (with the batch axis as 0, negative from the end) name of `input`,
/// as nn-core's mask of them (bit 0 the last axis, bit 1 the one before, ...), and their
/// sizes front to back; or why they do not fit (an axis the input lacks, or one named twice).
pub(super) fn axis_mask(axes: &[i64], input: &Shape) -> Result<(usize, Vec<usize>), String> {
    let rank = input.rank() as i64;
    let mut mask = 0usize;
    for (i, &a) in axes.iter().enumerate() {
        let axis = if a < 0 { a + rank + 1 } else { a };
        if !(1..=rank).contains(&axis) {
            return Err(format!(
                "names axis {a}, which its input {input} does not have (1 to {rank}, or -1 to -{rank})"
            ));
        }
        let bit = 1usize << (rank - axis);
        if mask & bit != 0 {
            let first =
                axes[..i].iter().find(|&&b| (if b < 0 { b + rank + 1 } else { b }) == axis).unwrap_or(&a);
            return Err(format!(
                "names one axis twice: {first} and {a} are both axis {axis} of its input {input}"
            ));
        }
        mask |= bit;
    }
    let dims =
        (0..input.rank()).filter(|k| mask >> (input.rank() - 1 - k) & 1 == 1).map(|k| input.0[k]).collect();
    Ok((mask, dims))
}

/// The axes a row of `input` takes for the layers that normalize a row at once
/// (LayerNormalization, UnitNormalization, RMSNormalization): their mask (`axis = -1` is 1,
/// `axis = (-2, -1)` `0b11`, `axis = 1` of a sequence `0b10`) and sizes.
fn row_axes(axes: &Option<Vec<i64>>, input: &Shape) -> Result<(usize, Vec<usize>), String> {
    let Some(list) = axes.as_deref() else { return Ok((1, vec![input.last()])) };
    if list.is_empty() {
        return Err(format!(
            "normalizes over no axis of its input {input}: name at least the last (`axis = -1`)"
        ));
    }
    axis_mask(list, input)
}

/// BatchNormalization's and GroupNormalization's channel axis in nn's shape (no batch axis) from Keras's `axis`, one
/// axis as Keras numbers it (the batch axis 0, negative from the end).
fn channel_axis(axes: &Option<Vec<i64>>, input: &Shape) -> Result<usize, String> {
    let rank = input.rank() as i64;
    match axes.as_deref() {
        None => Ok(input.rank() - 1),
        Some(&[a]) => {
            let k = if a < 0 { rank + a } else { a - 1 };
            if (0..rank).contains(&k) {
                Ok(k as usize)
            } else {
                Err(format!(
                    "normalizes axis {a}, which its input {input} does not have (1 to {rank}, or -1 to -{rank})"
                ))
            }
        }
        Some(other) => Err(format!("normalizes one channel axis, not {} of them", other.len())),
    }
}

impl Normalization {
    /// The mask of the axes a row takes (the last for BatchNormalization and
    /// GroupNormalization, whose rows nn-core does not take), and the shape of the row.
    fn row(&self, input: &Shape) -> (usize, Vec<usize>) {
        match self.norm {
            Norm::Layer { .. } | Norm::Unit | Norm::Rms => {
                row_axes(&self.axes, input).unwrap_or_else(|_| (1, vec![input.last()]))
            }
            Norm::Batch | Norm::Group(_) => (1, vec![input.last()]),
        }
    }

    /// The groups of a GroupNormalization over `c` channels.
    fn groups(&self, c: usize) -> Result<usize, String> {
        let Norm::Group(g) = self.norm else { return Ok(1) };
        match g {
            -1 => Ok(c),
            g if g >= 1 && c.is_multiple_of(g as usize) => Ok(g as usize),
            g => Err(format!("splits {c} channels into {g} groups, which must be -1 or divide {c}")),
        }
    }

    /// Whether the layer has `gamma` and `beta`, as Keras creates them.
    fn weights(&self) -> (bool, bool) {
        match self.norm {
            Norm::Layer { rms: true } => (true, false),
            Norm::Unit => (false, false),
            Norm::Rms => (true, false),
            _ => (self.scale, self.center),
        }
    }
}

impl LayerSpec for Normalization {
    fn mask(&self) -> super::Mask {
        // Keras's RMSNormalization does not support masking; BatchNormalization reads the
        // mask only for its batch statistics in training.
        if matches!(self.norm, Norm::Rms) { super::Mask::Drops } else { super::Mask::Keeps }
    }

    fn trains(&self) -> bool {
        true
    }

    fn class(&self) -> &'static str {
        match self.norm {
            Norm::Batch => "BatchNormalization",
            Norm::Layer { .. } => "LayerNormalization",
            Norm::Group(_) => "GroupNormalization",
            Norm::Unit => "UnitNormalization",
            Norm::Rms => "RMSNormalization",
        }
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        match self.norm {
            Norm::Batch | Norm::Group(_) => {
                let k = channel_axis(&self.axes, input)?;
                self.groups(input.0[k])?;
            }
            Norm::Layer { .. } | Norm::Unit | Norm::Rms => _ = row_axes(&self.axes, input)?,
        }
        Ok(input.clone())
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let x = input.ty(t);
        let (scale, center) = self.weights();
        let (mask, row) = self.row(input);
        let row: usize = row.iter().product();
        // Batch and Group: the channel axis, then the values after it.
        let k = channel_axis(&self.axes, input).unwrap_or(input.rank() - 1);
        let (c, inner) = (input.0[k], input.0[k + 1..].iter().product::<usize>());
        match self.norm {
            Norm::Batch => quote!(::nn::layers::BatchNormalization<#x, #c, #center, #scale, #inner>),
            Norm::Layer { rms } => {
                quote!(::nn::layers::LayerNormalization<#x, #row, #center, #scale, #rms, #mask>)
            }
            Norm::Group(_) => {
                let g = self.groups(c).unwrap_or(1);
                quote!(::nn::layers::GroupNormalization<#x, #c, #g, #center, #scale, #inner>)
            }
            Norm::Unit => quote!(::nn::layers::UnitNormalization<#x, #row, #mask>),
            Norm::Rms => quote!(::nn::layers::RMSNormalization<#x, #row, #mask>),
        }
    }

    fn variables(&self, input: &Shape) -> Vec<super::Variable> {
        let shape = match self.norm {
            Norm::Batch | Norm::Group(_) => {
                vec![channel_axis(&self.axes, input).map_or(input.last(), |k| input.0[k])]
            }
            _ => self.row(input).1,
        };
        let (scale, center) = self.weights();
        // RMSNormalization's one weight is `scale`; the others' are `gamma` and `beta`.
        let gamma = if matches!(self.norm, Norm::Rms) { "scale" } else { "gamma" };
        let stats: &[&'static str] =
            if matches!(self.norm, Norm::Batch) { &["moving_mean", "moving_variance"] } else { &[] };
        let names = [(gamma, scale), ("beta", center)].into_iter().filter(|(_, has)| *has).map(|(n, _)| n);
        names.chain(stats.iter().copied()).map(|name| (name, shape.clone())).collect()
    }

    fn non_trainable(&self, input: &Shape) -> usize {
        // The moving mean and variance, the last two of its variables.
        let stats = self.variables(input).into_iter().rev().take(2);
        if matches!(self.norm, Norm::Batch) {
            stats.map(|(_, v)| v.iter().product::<usize>()).sum()
        } else {
            0
        }
    }

    fn prepares(&self) -> bool {
        matches!(self.norm, Norm::Batch)
    }

    fn options(&self, _input: &Shape, _t: &TokenStream) -> Vec<(&'static str, TokenStream)> {
        let (epsilon, momentum) = (self.epsilon, self.momentum);
        match self.norm {
            Norm::Batch => vec![("epsilon", quote!(#epsilon)), ("momentum", quote!(#momentum))],
            Norm::Unit => vec![],
            _ => vec![("epsilon", quote!(#epsilon))],
        }
    }
}
