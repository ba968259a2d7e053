//! `ConvLSTM1D` (nn-core's `layers/conv_lstm.rs`): an LSTM over steps of rows whose gates are
//! 1-D convolutions over the rows.

use super::conv::{Padding, axis};
use super::params::{self, Args, Kind, Param, param, positional};
use super::{Entry, LayerSpec, Mask};
use crate::activation::Act;
use crate::ast::LayerCall;
use crate::ctxt::Ctxt;
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;
use std::rc::Rc;

const PARAMS: &[Param] = &[
    positional("filters", Kind::Int { min: 1 }),
    positional("kernel_size", Kind::Ints(1)),
    param("strides", Kind::Ints(1)),
    param("padding", Kind::Choice(&["valid", "same"])),
    param("data_format", Kind::Choice(&["channels_last"])),
    param("dilation_rate", Kind::Ints(1)),
    param("activation", Kind::Activation),
    param("recurrent_activation", Kind::Activation),
    param("use_bias", Kind::Bool),
    param("unit_forget_bias", Kind::Bool),
    param("return_sequences", Kind::Bool),
    param("return_state", Kind::Bool),
    param("go_backwards", Kind::Bool),
    param("stateful", Kind::Bool),
    param("unroll", Kind::Bool),
    param("dropout", Kind::Number),
    param("recurrent_dropout", Kind::Number),
];

pub const CONV_LSTM1D: Entry = Entry { name: "ConvLSTM1D", params: PARAMS, read };

fn read(call: &LayerCall, cx: &mut Ctxt) -> Option<Rc<dyn LayerSpec>> {
    let args: Args = params::read(call, PARAMS, &["filters", "kernel_size"], cx)?;
    if args.bool(args.at("return_state"), false) {
        cx.error(call.option_span("return_state"), "`ConvLSTM1D` with `return_state` is not supported yet");
        return None;
    }
    Some(Rc::new(ConvLstm {
        filters: args.int(0, 1),
        kernel: args.ints(1, 1, 1)[0],
        stride: args.ints(args.at("strides"), 1, 1)[0],
        dilation: args.ints(args.at("dilation_rate"), 1, 1)[0],
        padding: Padding::read(&args, args.at("padding")),
        activation: args.activation_or(args.at("activation"), Act::named("Tanh")),
        recurrent_activation: args.activation_or(args.at("recurrent_activation"), Act::named("Sigmoid")),
        use_bias: args.bool(args.at("use_bias"), true),
        sequences: args.bool(args.at("return_sequences"), false),
        backwards: args.bool(args.at("go_backwards"), false),
    }))
}

struct ConvLstm {
    filters: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    padding: Padding,
    activation: Act,
    recurrent_activation: Act,
    use_bias: bool,
    sequences: bool,
    backwards: bool,
}

/// The input's steps, rows and channels, and the output's rows and the padding before them.
struct Geometry {
    steps: usize,
    rows: usize,
    channels: usize,
    out_rows: usize,
    pad: usize,
}

impl ConvLstm {
    fn geometry(&self, input: &Shape) -> Result<Geometry, String> {
        let [s, r, c] = input.0[..] else {
            return Err(format!(
                "takes sequences of rows, shape (None, steps, rows, channels), but its input is {}",
                input.keras()
            ));
        };
        let rows = axis(r, self.kernel, self.stride, self.dilation, self.padding).ok_or_else(|| {
            format!(
                "needs at least {} rows but its input is {}",
                (self.kernel - 1) * self.dilation + 1,
                input.keras()
            )
        })?;
        Ok(Geometry { steps: s, rows: r, channels: c, out_rows: rows.0, pad: rows.1 })
    }
}

impl LayerSpec for ConvLstm {
    fn class(&self) -> &'static str {
        "ConvLSTM1D"
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        let g = self.geometry(input)?;
        let f = self.filters;
        Ok(if self.sequences { Shape(vec![g.steps, g.out_rows, f]) } else { Shape(vec![g.out_rows, f]) })
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let Ok(Geometry { steps: s, rows: r, channels: c, out_rows: ro, pad: pl }) = self.geometry(input)
        else {
            return quote!(());
        };
        let y = self.output(input).map(|s| s.ty(t)).unwrap_or_else(|_| quote!(()));
        let (f, f4, k, st, dl) = (self.filters, 4 * self.filters, self.kernel, self.stride, self.dilation);
        let (a, ra) = (&self.activation.ty, &self.recurrent_activation.ty);
        let (seq, back, bias) = (self.sequences, self.backwards, self.use_bias);
        quote!(::nn::layers::ConvLstm1D<#t, #y, #s, #r, #c, #ro, #f, #f4, #k, #st, #dl, #pl, #a, #ra, #seq, #back, #bias>)
    }

    fn variables(&self, input: &Shape) -> Vec<Vec<usize>> {
        let (c, f4) = (input.last(), 4 * self.filters);
        let mut vars = vec![vec![self.kernel, c, f4], vec![self.kernel, self.filters, f4]];
        if self.use_bias {
            vars.push(vec![f4]);
        }
        vars
    }

    fn h5_group(&self) -> &'static str {
        "cell/vars"
    }

    fn options(&self, _input: &Shape, _t: &TokenStream) -> Vec<(&'static str, TokenStream)> {
        let (a, ra) = (self.activation.value_expr(), self.recurrent_activation.value_expr());
        vec![("activation", a), ("recurrent_activation", ra)]
    }

    fn mask(&self) -> Mask {
        Mask::Refuses("is a ConvLSTM, which nn does not skip masked steps in yet")
    }

    fn untrained(&self) -> &'static str {
        "is recurrent: recurrent layers have no backward pass yet"
    }
}
