//! `Dense`, on the last axis of a tensor of any rank (nn-core's `layers/dense.rs`).

use super::params::{self, Kind, Param, param, positional};
use super::{Entry, LayerSpec, Size, size};
use crate::activation::Act;
use crate::ast::{Arg, LayerCall};
use crate::ctxt::Ctxt;
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;
use std::rc::Rc;

const PARAMS: &[Param] = &[
    positional("units", Kind::Int { min: 1 }),
    param("activation", Kind::Activation),
    param("use_bias", Kind::Bool),
    param("kernel_initializer", Kind::Initializer),
    param("bias_initializer", Kind::Initializer),
];

pub const DENSE: Entry = Entry { name: "Dense", params: PARAMS, read };

struct Dense {
    input: Option<Size>,
    units: usize,
    activation: Act,
    use_bias: bool,
    /// `kernel_initializer`, `bias_initializer`.
    initializers: Option<TokenStream>,
}

/// `Dense<UNITS>`, `Dense<UNITS, activation>`, or `Dense<INPUTS, UNITS, ...>` with the input
/// size declared.
fn read(call: &LayerCall, cx: &mut Ctxt) -> Option<Rc<dyn LayerSpec>> {
    const FORMS: &str = "`Dense<UNITS>`, `Dense<UNITS, activation>` or `Dense<INPUTS, UNITS, activation>`";
    let numbers = call.args.iter().take_while(|a| matches!(a, Arg::Number(_))).count();
    let (input, rest) = match numbers {
        0 if !call.args.iter().any(|a| matches!(a, Arg::Named { name, .. } if name == "units")) => {
            cx.error(call.kind.span(), format!("`Dense` needs its number of units; write {FORMS}"));
            return None;
        }
        0 | 1 => (None, &call.args[..]),
        2 => (Some(size("Dense", &call.args[0], cx)), &call.args[1..]),
        _ => {
            cx.error(
                call.args[2].span(),
                format!("`Dense` takes at most two sizes, inputs and units; write {FORMS}"),
            );
            return None;
        }
    };
    let call = LayerCall { args: rest.to_vec(), ..call.clone() };
    let args = params::read(&call, PARAMS, &["units"], cx);
    let input = match input {
        Some(declared) => Some(declared?),
        None => None,
    };
    let args = args?;
    Some(Rc::new(Dense {
        input,
        units: args.int(0, 1),
        activation: args.activation(1),
        use_bias: args.bool(2, true),
        initializers: args.initializers().expr(),
    }))
}

impl LayerSpec for Dense {
    fn trains(&self) -> bool {
        true
    }

    fn stream(&self, input: &Shape, _t: &TokenStream) -> Result<Option<TokenStream>, String> {
        super::per_step(input)
    }

    fn class(&self) -> &'static str {
        "Dense"
    }

    fn declared_input(&self) -> Option<Size> {
        self.input
    }

    fn input_hint(&self) -> Option<String> {
        Some(format!("`Dense<N, {}>`", self.units))
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        Ok(input.with_last(self.units))
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let (n, units, act, bias, lead) =
            (input.last(), self.units, &self.activation.ty, self.use_bias, input.lead_ty());
        quote!(::nn::layers::Dense<#t, #n, #units, #act, #bias, #lead>)
    }

    fn variables(&self, input: &Shape) -> Vec<Vec<usize>> {
        let kernel = vec![input.last(), self.units];
        if self.use_bias { vec![kernel, vec![self.units]] } else { vec![kernel] }
    }

    fn activation_value(&self) -> Option<&TokenStream> {
        self.activation.value.as_ref()
    }

    fn initializers(&self) -> Option<TokenStream> {
        self.initializers.clone()
    }
}
