//! `Dropout`, `SpatialDropout1D/2D/3D`, `GaussianNoise`, `GaussianDropout`, `AlphaDropout` and
//! `ActivityRegularization` (nn-core's `layers/regularization.rs`): the identity at inference,
//! and a view in the model, so they cost nothing there; while training they run through their
//! `Train` impls, with the options (rates, noise, penalties) the model writes into them.
//! Keras's `seed` is read and checked only: the draws come from the training pass's generator.

use super::conv::spatial;
use super::params::{self, Kind, Param, param, positional};
use super::{Entry, LayerSpec};
use crate::ast::LayerCall;
use crate::ctxt::Ctxt;
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use std::rc::Rc;

const RATE_PARAMS: &[Param] = &[
    positional("rate", Kind::Number),
    param("seed", Kind::Int { min: 0 }),
    param("noise_shape", Kind::Dims),
];
const SPATIAL2D_PARAMS: &[Param] = &[
    positional("rate", Kind::Number),
    param("seed", Kind::Int { min: 0 }),
    param("data_format", Kind::Choice(&["channels_last"])),
];
const SPATIAL3D_PARAMS: &[Param] = SPATIAL2D_PARAMS;
const NOISE_PARAMS: &[Param] = &[positional("stddev", Kind::Number), param("seed", Kind::Int { min: 0 })];
/// Keras's `GaussianDropout` takes no `noise_shape`.
const GAUSSIAN_DROPOUT_PARAMS: &[Param] =
    &[positional("rate", Kind::Number), param("seed", Kind::Int { min: 0 })];
const PENALTY_PARAMS: &[Param] = &[param("l1", Kind::Number), param("l2", Kind::Number)];

/// An identity layer's entry: its class, nn-core type, parameters (those required), and the
/// rank its input must have, if any.
macro_rules! identity {
    ($entry:ident, $class:literal, $ty:literal, $params:ident, [$($required:literal),*], $rank:expr) => {
        pub const $entry: Entry = Entry {
            name: $class,
            params: $params,
            read: |c, cx| read(c, $class, $ty, $params, &[$($required),*], $rank, cx),
        };
    };
}

identity!(DROPOUT, "Dropout", "Dropout", RATE_PARAMS, ["rate"], None);
identity!(SPATIAL_DROPOUT1D, "SpatialDropout1D", "SpatialDropout", RATE_PARAMS, ["rate"], Some(2));
identity!(SPATIAL_DROPOUT2D, "SpatialDropout2D", "SpatialDropout", SPATIAL2D_PARAMS, ["rate"], Some(3));
identity!(SPATIAL_DROPOUT3D, "SpatialDropout3D", "SpatialDropout", SPATIAL3D_PARAMS, ["rate"], Some(4));
identity!(GAUSSIAN_NOISE, "GaussianNoise", "GaussianNoise", NOISE_PARAMS, ["stddev"], None);
identity!(GAUSSIAN_DROPOUT, "GaussianDropout", "GaussianDropout", GAUSSIAN_DROPOUT_PARAMS, ["rate"], None);
identity!(ALPHA_DROPOUT, "AlphaDropout", "AlphaDropout", RATE_PARAMS, ["rate"], None);
identity!(
    ACTIVITY_REGULARIZATION,
    "ActivityRegularization",
    "ActivityRegularization",
    PENALTY_PARAMS,
    [],
    None
);

struct Identity {
    class: &'static str,
    ty: &'static str,
    rank: Option<usize>,
    /// The options the layer's fields take, as (field, value).
    options: Vec<(&'static str, f64)>,
    /// Keras's `noise_shape`, batch axis first (`-1` for `None`), if given.
    noise_shape: Option<Vec<i64>>,
}

fn read(
    call: &LayerCall,
    class: &'static str,
    ty: &'static str,
    params: &[Param],
    required: &[&str],
    rank: Option<usize>,
    cx: &mut Ctxt,
) -> Option<Rc<dyn LayerSpec>> {
    let args = params::read(call, params, required, cx)?;
    let rate = params.iter().position(|p| p.name == "rate").and_then(|i| args.numbers(i));
    if let Some(rate) = rate.as_ref().filter(|r| !(0.0..1.0).contains(&r[0])) {
        let span = call.args.first().map_or(call.kind.span(), |a| a.span());
        cx.error(span, format!("`rate` of `{class}` is a fraction in [0, 1), found {}", rate[0]));
        return None;
    }
    // Every number a layer takes becomes the field of the same name (`rate`, `stddev`, `l1`,
    // `l2`), Keras's default 0 when not given.
    let options = params
        .iter()
        .enumerate()
        .filter(|(_, p)| matches!(p.kind, Kind::Number))
        .map(|(i, p)| (p.name, args.number(i, 0.0)))
        .collect();
    let noise_shape = params.iter().position(|p| p.name == "noise_shape").and_then(|i| args.given_dims(i));
    Some(Rc::new(Identity { class, ty, rank, options, noise_shape }))
}

impl Identity {
    /// The axes (batch first) along which `noise_shape` shares one draw, for `input`; or why
    /// `noise_shape` does not fit it.
    fn shared(&self, input: &Shape) -> Result<Option<[bool; 6]>, String> {
        let Some(noise) = &self.noise_shape else { return Ok(None) };
        let dims: Vec<usize> = input.0.clone();
        if noise.len() != dims.len() + 1 {
            return Err(format!(
                "takes a `noise_shape` of {} sizes, the batch axis first, for its input {}; found {}",
                dims.len() + 1,
                input.keras(),
                noise.len()
            ));
        }
        let mut shared = [false; 6];
        for (k, &n) in noise.iter().enumerate() {
            let size = if k == 0 { None } else { Some(dims[k - 1]) };
            match (n, size) {
                (-1, _) => {}
                (1, _) => shared[k] = true,
                (n, Some(size)) if n as usize == size => {}
                (n, Some(size)) => {
                    return Err(format!(
                        "has `noise_shape` size {n} on axis {k}, which is {size} in its input: each size is \
                         1 (one draw shared along the axis), the axis's or `None`"
                    ));
                }
                (n, None) => {
                    return Err(format!(
                        "has `noise_shape` size {n} on the batch axis: nn takes `None` (a draw per \
                         sample) or 1 (one for the batch) there"
                    ));
                }
            }
        }
        Ok(Some(shared))
    }
}

impl LayerSpec for Identity {
    fn mask(&self) -> super::Mask {
        super::Mask::Keeps
    }

    fn trains(&self) -> bool {
        true
    }

    fn trains_as_view(&self) -> bool {
        false
    }

    fn stream(&self, _input: &Shape, _t: &TokenStream) -> Result<Option<TokenStream>, String> {
        Ok(None)
    }

    fn class(&self) -> &'static str {
        self.class
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        if let Some(rank) = self.rank {
            spatial(input, rank - 1)?;
        }
        self.shared(input)?;
        Ok(input.clone())
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let (ty, x) = (format_ident!("{}", self.ty), input.ty(t));
        quote!(::nn::layers::#ty<#x>)
    }

    fn options(&self, input: &Shape, _t: &TokenStream) -> Vec<(&'static str, TokenStream)> {
        let mut options: Vec<_> = self.options.iter().map(|&(name, v)| (name, quote!(#v))).collect();
        if let Ok(Some(shared)) = self.shared(input) {
            options.push(("shared", quote!([#(#shared),*])));
        }
        options
    }

    fn is_view(&self) -> bool {
        true
    }
}
