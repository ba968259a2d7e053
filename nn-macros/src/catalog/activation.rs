//! `Activation`: an activation as a layer of its own (nn-core's `layers/activation.rs`).

use super::params::{self, Kind, Param, positional};
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
