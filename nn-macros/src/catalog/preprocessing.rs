//! `Rescaling` and `Normalization` (nn-core's `layers/preprocessing.rs`).

use super::normalization::last_axis;
use super::params::{self, Kind, Param, param, positional};
use super::{Entry, LayerSpec};
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;
use std::rc::Rc;

const RESCALING_PARAMS: &[Param] = &[positional("scale", Kind::Number), param("offset", Kind::Number)];
const NORMALIZATION_PARAMS: &[Param] = &[
    param("axis", Kind::Axes),
    param("mean", Kind::Numbers),
    param("variance", Kind::Numbers),
    param("invert", Kind::Bool),
];

pub const RESCALING: Entry = Entry {
    name: "Rescaling",
    params: RESCALING_PARAMS,
    read: |c, cx| {
        let args = params::read(c, RESCALING_PARAMS, &["scale"], cx)?;
        Some(Rc::new(Rescaling { scale: args.number(0, 1.0), offset: args.number(1, 0.0) }))
    },
};

pub const NORMALIZATION: Entry = Entry {
    name: "Normalization",
    params: NORMALIZATION_PARAMS,
    read: |c, cx| {
        let args = params::read(c, NORMALIZATION_PARAMS, &[], cx)?;
        Some(Rc::new(Normalization {
            axes: args.axes(0),
            mean: args.numbers(1),
            variance: args.numbers(2),
            invert: args.bool(3, false),
        }))
    },
};

struct Rescaling {
    scale: f64,
    offset: f64,
}

impl LayerSpec for Rescaling {
    fn trains(&self) -> bool {
        true
    }

    fn class(&self) -> &'static str {
        "Rescaling"
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        Ok(input.clone())
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let x = input.ty(t);
        quote!(::nn::layers::Rescaling<#x>)
    }

    fn options(&self, _input: &Shape, _t: &TokenStream) -> Vec<(&'static str, TokenStream)> {
        let (scale, offset) = (self.scale, self.offset);
        vec![("scale", quote!(#scale)), ("offset", quote!(#offset))]
    }
}

/// Given `mean` and `variance`, the config form (constants in the model); without, the adapted
/// form (weights).
struct Normalization {
    axes: Option<Vec<i64>>,
    mean: Option<Vec<f64>>,
    variance: Option<Vec<f64>>,
    invert: bool,
}

impl Normalization {
    fn adapted(&self) -> bool {
        self.mean.is_none()
    }
}

impl LayerSpec for Normalization {
    fn trains(&self) -> bool {
        true
    }

    fn class(&self) -> &'static str {
        "Normalization"
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        last_axis(&self.axes, input)?;
        let c = input.last();
        match (&self.mean, &self.variance) {
            (None, None) => {}
            (Some(_), None) | (None, Some(_)) => {
                return Err("takes `mean` and `variance` together (or neither, to hold adapted ones)".into());
            }
            (Some(m), Some(v)) => {
                for (name, values) in [("mean", m), ("variance", v)] {
                    if values.len() != 1 && values.len() != c {
                        return Err(format!(
                            "takes one `{name}` or one per channel ({c}), found {}",
                            values.len()
                        ));
                    }
                }
            }
        }
        Ok(input.clone())
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let (x, c, adapted, invert) = (input.ty(t), input.last(), self.adapted(), self.invert);
        quote!(::nn::layers::Normalization<#x, #c, #adapted, #invert>)
    }

    fn variables(&self, input: &Shape) -> Vec<Vec<usize>> {
        if self.adapted() { vec![vec![input.last()], vec![input.last()], vec![]] } else { Vec::new() }
    }

    fn options(&self, input: &Shape, t: &TokenStream) -> Vec<(&'static str, TokenStream)> {
        let (Some(mean), Some(variance)) = (&self.mean, &self.variance) else { return Vec::new() };
        let c = input.last();
        let array = |values: &Vec<f64>| {
            let values = (0..c).map(|i| values[if values.len() == 1 { 0 } else { i }]);
            quote!([#( ::nn::float::constant::<#t>(#values) ),*])
        };
        vec![("mean", array(mean)), ("variance", array(variance))]
    }
}
