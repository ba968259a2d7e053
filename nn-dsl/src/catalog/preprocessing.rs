//! `Rescaling` and `Normalization` (nn-core's `layers/preprocessing.rs`).

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
    fn mask(&self) -> super::Mask {
        super::Mask::Keeps
    }

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

    /// The axes that keep their own statistics (Keras's `axis`: the last by default, none for
    /// `axis = None`, saved as `()`): nn-core's mask of them, their sizes, and the values they
    /// hold together.
    fn kept(&self, input: &Shape) -> Result<(usize, Vec<usize>, usize), String> {
        let axes = match self.axes.as_deref() {
            Some([]) => return Ok((0, Vec::new(), 1)),
            None => vec![-1],
            Some(list) => list.to_vec(),
        };
        let (mask, dims) = super::normalization::axis_mask(&axes, input)?;
        let c = dims.iter().product();
        Ok((mask, dims, c))
    }
}

impl LayerSpec for Normalization {
    fn mask(&self) -> super::Mask {
        super::Mask::Keeps
    }

    fn trains(&self) -> bool {
        true
    }

    fn class(&self) -> &'static str {
        "Normalization"
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        let (_, _, c) = self.kept(input)?;
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
        let (keep, _, c) = self.kept(input).unwrap_or((1, Vec::new(), input.last()));
        let (x, adapted, invert) = (input.ty(t), self.adapted(), self.invert);
        quote!(::nn::layers::Normalization<#x, #c, #adapted, #invert, #keep>)
    }

    fn variables(&self, input: &Shape) -> Vec<super::Variable> {
        let (_, kept, _) = self.kept(input).unwrap_or((1, vec![input.last()], input.last()));
        if self.adapted() {
            vec![("mean", kept.clone()), ("variance", kept), ("count", vec![])]
        } else {
            Vec::new()
        }
    }

    fn non_trainable(&self, input: &Shape) -> usize {
        // The adapted mean, variance and count: Keras trains none of them.
        self.variables(input).iter().map(|(_, v)| v.iter().product::<usize>()).sum()
    }

    fn options(&self, input: &Shape, t: &TokenStream) -> Vec<(&'static str, TokenStream)> {
        let (Some(mean), Some(variance)) = (&self.mean, &self.variance) else { return Vec::new() };
        let (_, _, c) = self.kept(input).unwrap_or((1, Vec::new(), input.last()));
        let array = |values: &Vec<f64>| {
            let values = (0..c).map(|i| values[if values.len() == 1 { 0 } else { i }]);
            quote!([#( ::nn::float::constant::<#t>(#values) ),*])
        };
        vec![("mean", array(mean)), ("variance", array(variance))]
    }
}
