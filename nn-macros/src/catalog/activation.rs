//! `Activation`: an activation as a layer of its own (nn-core's `layers/activation.rs`).

use super::params::{self, Kind, Param, param, positional};
use super::{Entry, LayerSpec};
use crate::activation::Act;
use crate::ast::LayerCall;
use crate::ctxt::Ctxt;
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;
use std::rc::Rc;

const PARAMS: &[Param] = &[positional("activation", Kind::Activation)];

pub const ACTIVATION: Entry = Entry { name: "Activation", params: PARAMS, read };

struct Activation(Act);

fn read(call: &LayerCall, cx: &mut Ctxt) -> Option<Rc<dyn LayerSpec>> {
    let args = params::read(call, PARAMS, &["activation"], cx)?;
    Some(Rc::new(Activation(args.activation(0))))
}

impl LayerSpec for Activation {
    fn mask(&self) -> super::Mask {
        super::Mask::Keeps
    }

    fn trains(&self) -> bool {
        true
    }

    fn stream(&self, input: &Shape, _t: &TokenStream) -> Result<Option<TokenStream>, String> {
        super::per_step(input)
    }

    fn class(&self) -> &'static str {
        "Activation"
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        Ok(input.clone())
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let (n, act, lead) = (input.last(), &self.0.ty, input.lead_ty());
        quote!(::nn::layers::Activation<#t, #n, #act, #lead>)
    }

    fn activation_value(&self) -> Option<&TokenStream> {
        self.0.value.as_ref()
    }
}

const RELU_PARAMS: &[Param] = &[
    param("max_value", Kind::Number),
    param("negative_slope", Kind::Number),
    param("threshold", Kind::Number),
];
const LEAKY_PARAMS: &[Param] = &[positional("negative_slope", Kind::Number)];
const ELU_PARAMS: &[Param] = &[positional("alpha", Kind::Number)];
const SOFTMAX_PARAMS: &[Param] = &[positional("axis", Kind::Axis)];
const PRELU_PARAMS: &[Param] = &[param("shared_axes", Kind::Axes)];

pub const RELU: Entry = Entry {
    name: "ReLU",
    params: RELU_PARAMS,
    read: |c, cx| {
        let args = params::read(c, RELU_PARAMS, &[], cx)?;
        let (max, slope, threshold) =
            (args.number(0, f64::INFINITY), args.number(1, 0.0), args.number(2, 0.0));
        if max < 0.0 || slope < 0.0 || threshold < 0.0 {
            cx.error(
                c.kind.span(),
                "`ReLU` takes `max_value`, `negative_slope` and `threshold` of at least 0",
            );
            return None;
        }
        let max = if max.is_infinite() { quote!(f64::INFINITY) } else { quote!(#max) };
        let value = quote!(::nn::activations::ReluOptions {
            negative_slope: #slope, max_value: #max, threshold: #threshold
        });
        Some(Rc::new(Unit { class: "ReLU", ty: quote!(ReLU), value }))
    },
};
pub const LEAKY_RELU: Entry = Entry {
    name: "LeakyReLU",
    params: LEAKY_PARAMS,
    read: |c, cx| {
        // The layer's default slope, 0.3, is not the function's 0.2.
        let slope = params::read(c, LEAKY_PARAMS, &[], cx)?.number(0, 0.3);
        let value = quote!(::nn::activations::LeakyRelu { negative_slope: #slope });
        Some(Rc::new(Unit { class: "LeakyReLU", ty: quote!(LeakyReLU), value }))
    },
};
pub const ELU: Entry = Entry {
    name: "ELU",
    params: ELU_PARAMS,
    read: |c, cx| {
        let alpha = params::read(c, ELU_PARAMS, &[], cx)?.number(0, 1.0);
        Some(Rc::new(Unit {
            class: "ELU",
            ty: quote!(ELU),
            value: quote!(::nn::activations::Elu { alpha: #alpha }),
        }))
    },
};
pub const SOFTMAX: Entry = Entry {
    name: "Softmax",
    params: SOFTMAX_PARAMS,
    read: |c, cx| {
        let axis = params::read(c, SOFTMAX_PARAMS, &[], cx)?.axes(0).map_or(-1, |a| a[0]);
        Some(Rc::new(SoftmaxOver(axis)))
    },
};
pub const PRELU: Entry = Entry {
    name: "PReLU",
    params: PRELU_PARAMS,
    read: |c, cx| Some(Rc::new(PRelu(params::read(c, PRELU_PARAMS, &[], cx)?.axes(0).unwrap_or_default()))),
};

/// `ReLU`, `LeakyReLU` or `ELU`: nn-core's `Activation` under its own class, with options.
struct Unit {
    class: &'static str,
    ty: TokenStream,
    value: TokenStream,
}

impl LayerSpec for Unit {
    fn mask(&self) -> super::Mask {
        super::Mask::Keeps
    }

    fn trains(&self) -> bool {
        true
    }

    fn stream(&self, input: &Shape, _t: &TokenStream) -> Result<Option<TokenStream>, String> {
        super::per_step(input)
    }

    fn class(&self) -> &'static str {
        self.class
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        Ok(input.clone())
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let (ty, n, lead) = (&self.ty, input.last(), input.lead_ty());
        quote!(::nn::layers::#ty<#t, #n, #lead>)
    }

    fn activation_value(&self) -> Option<&TokenStream> {
        Some(&self.value)
    }
}

/// `Softmax` over a Keras axis (the batch axis is 0; negative ones count from the end).
struct SoftmaxOver(i64);

impl SoftmaxOver {
    /// The data axis, 0-based without the batch axis.
    fn axis(&self, input: &Shape) -> Result<usize, String> {
        let rank = input.rank() as i64;
        let axis = if self.0 < 0 { rank + self.0 } else { self.0 - 1 };
        if (0..rank).contains(&axis) {
            Ok(axis as usize)
        } else {
            Err(format!("has no axis {} on an input of shape {}", self.0, input.keras()))
        }
    }
}

impl LayerSpec for SoftmaxOver {
    fn mask(&self) -> super::Mask {
        super::Mask::Refuses("adds a large negative number to the masked positions, which nn does not yet")
    }

    fn trains(&self) -> bool {
        true
    }

    fn class(&self) -> &'static str {
        "Softmax"
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        self.axis(input).map(|_| input.clone())
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let (x, axis) = (input.ty(t), self.axis(input).unwrap_or(0));
        quote!(::nn::layers::Softmax<#x, #axis>)
    }
}

/// `PReLU` with Keras's `shared_axes` (1-based data axes).
struct PRelu(Vec<i64>);

impl PRelu {
    /// `alpha`'s Keras shape for `input`: shared axes 1.
    fn alpha(&self, input: &Shape) -> Result<Vec<usize>, String> {
        let mut shape = input.0.clone();
        for &a in &self.0 {
            match usize::try_from(a).ok().filter(|a| (1..=shape.len()).contains(a)) {
                Some(a) => shape[a - 1] = 1,
                None => {
                    return Err(format!(
                        "shares axis {a}, but its input {} has axes 1 to {}",
                        input.keras(),
                        shape.len()
                    ));
                }
            }
        }
        // nn-core stacks the leading axes of ranks 4 and 5 into rows: they are all shared or
        // none is.
        let lead = &shape[..shape.len().saturating_sub(2)];
        if lead.len() > 1 && !(lead.iter().all(|&d| d == 1) || lead == &input.0[..lead.len()]) {
            return Err(format!(
                "shares some of the axes before the last two of its input {} but not all: nn shares those \
                 together (all of them, or none)",
                input.keras()
            ));
        }
        Ok(shape)
    }
}

impl LayerSpec for PRelu {
    fn mask(&self) -> super::Mask {
        super::Mask::Keeps
    }

    fn trains(&self) -> bool {
        true
    }

    fn class(&self) -> &'static str {
        "PReLU"
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        self.alpha(input).map(|_| input.clone())
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let alpha = self.alpha(input).unwrap_or_else(|_| input.0.clone());
        // Padded to (height, width, channels) as nn-core's `grid` pads the input.
        // Padded to (height, width, channels) as nn-core's `grid` pads the input, and stacked
        // as it stacks ranks 4 and 5.
        let (lead, last) = alpha.split_at(alpha.len().saturating_sub(2));
        let mut grid = vec![1; 3usize.saturating_sub(alpha.len())];
        if !lead.is_empty() {
            grid.push(lead.iter().product());
        }
        grid.extend(last);
        let (x, [ah, aw, ac]) = (input.ty(t), [grid[0], grid[1], grid[2]]);
        quote!(::nn::layers::PReLU<#x, #ah, #aw, #ac>)
    }

    fn variables(&self, input: &Shape) -> Vec<Vec<usize>> {
        vec![self.alpha(input).unwrap_or_default()]
    }
}
