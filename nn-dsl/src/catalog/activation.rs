//! `Activation`: an activation as a layer of its own (nn-core's `layers/activation.rs`).

use super::params::{self, Kind, Param, param, positional};
use super::{Arity, Entry, LayerSpec};
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
const SOFTMAX_PARAMS: &[Param] = &[
    positional("axis", Kind::Axis),
    // Set by a call `(x, mask = m)`: the second input is Keras's `mask`.
    param("mask", Kind::Bool),
];
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
        let args = params::read(c, SOFTMAX_PARAMS, &[], cx)?;
        let axis = args.axes(0).map_or(-1, |a| a[0]);
        if args.bool(1, false) {
            return Some(Rc::new(MaskedSoftmaxOver { axis: SoftmaxOver(axis), inputs: Vec::new() }));
        }
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
        // Keras broadcasts a mask of the steps against the input's last axes, not its steps; a
        // mask of the input's shape is given as an input: `Softmax(x, mask = m)`.
        super::Mask::Refuses(
            "would mask its input by its steps' mask, which Keras broadcasts against the input's last axes \
             (give a mask of the input's shape as `Softmax(x, mask = m)`)",
        )
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

/// `Softmax` called with a mask, `(x, mask = m)`: nn-core's `MaskedSoftmax` over `(x, m)`.
struct MaskedSoftmaxOver {
    axis: SoftmaxOver,
    /// The input and the mask, once known.
    inputs: Vec<Shape>,
}

impl LayerSpec for MaskedSoftmaxOver {
    fn mask(&self) -> super::Mask {
        super::Mask::Refuses(
            "takes a mask as an input, and one from the layers before it too, which nn does not join",
        )
    }

    fn trains(&self) -> bool {
        true
    }

    fn class(&self) -> &'static str {
        "Softmax"
    }

    fn arity(&self) -> Arity {
        Arity::Exactly(2)
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        Err(format!("takes `(x, mask = m)`, not one input {input}"))
    }

    /// The input's shape, if the mask broadcasts to it: as many axes, each of the input's size
    /// or 1. (Keras takes a mask of fewer axes too, but broadcasts it with its batch axis
    /// against one of the input's: the mask of sample `b` masks row `b` of every sample.)
    fn output_of(&self, inputs: &[Shape]) -> Result<Shape, String> {
        let [x, m] = inputs else {
            return Err(format!("takes `(x, mask = m)`, not {} inputs", inputs.len()));
        };
        let fits = m.rank() == x.rank() && m.0.iter().zip(&x.0).all(|(a, b)| *a == 1 || a == b);
        if !fits {
            return Err(format!(
                "takes a mask of its input's axes, each of its size or 1, to broadcast to its input {x}, but \
                 its mask is {m}"
            ));
        }
        self.axis.output(x)
    }

    fn bind(&self, inputs: &[Shape]) -> Option<Rc<dyn LayerSpec>> {
        Some(Rc::new(MaskedSoftmaxOver { axis: SoftmaxOver(self.axis.0), inputs: inputs.to_vec() }))
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let [x, m] = &self.inputs[..] else { return quote!(()) };
        let axis = self.axis.axis(input).unwrap_or(0);
        let (x, m) = (x.ty(t), m.ty(t));
        quote!(::nn::layers::MaskedSoftmax<#x, #m, #axis>)
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
        // The shared axes as nn-core's mask (bit 0 the last axis).
        let bit = |a: i64| 1usize.checked_shl((input.rank() as i64 - a) as u32).unwrap_or(0);
        let shared = self.0.iter().fold(0, |mask, &a| mask | bit(a));
        let (x, [ah, aw, ac]) = (input.ty(t), [grid[0], grid[1], grid[2]]);
        quote!(::nn::layers::PReLU<#x, #ah, #aw, #ac, #shared>)
    }

    fn variables(&self, input: &Shape) -> Vec<super::Variable> {
        vec![("alpha", self.alpha(input).unwrap_or_default())]
    }
}
