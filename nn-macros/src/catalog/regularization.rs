//! `Dropout`, `SpatialDropout1D/2D`, `GaussianNoise`, `GaussianDropout`, `AlphaDropout` and
//! `ActivityRegularization` (nn-core's `layers/regularization.rs`): the identity at inference,
//! and a view in the model, so they cost nothing. Their options are read and checked only.

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
const NOISE_PARAMS: &[Param] = &[positional("stddev", Kind::Number), param("seed", Kind::Int { min: 0 })];
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
identity!(GAUSSIAN_NOISE, "GaussianNoise", "GaussianNoise", NOISE_PARAMS, ["stddev"], None);
identity!(GAUSSIAN_DROPOUT, "GaussianDropout", "GaussianDropout", RATE_PARAMS, ["rate"], None);
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
    if let Some(rate) = rate.filter(|r| !(0.0..1.0).contains(&r[0])) {
        let span = call.args.first().map_or(call.kind.span(), |a| a.span());
        cx.error(span, format!("`rate` of `{class}` is a fraction in [0, 1), found {}", rate[0]));
        return None;
    }
    Some(Rc::new(Identity { class, ty, rank }))
}

impl LayerSpec for Identity {
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
        Ok(input.clone())
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let (ty, x) = (format_ident!("{}", self.ty), input.ty(t));
        quote!(::nn::layers::#ty<#x>)
    }

    fn is_view(&self) -> bool {
        true
    }
}
