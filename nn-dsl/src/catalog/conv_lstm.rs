//! `ConvLSTM1D`, `ConvLSTM2D` and `ConvLSTM3D` (nn-core's `layers/conv_lstm.rs`): an LSTM over
//! steps of rows, images or volumes whose gates are convolutions.

use super::conv::{Window, depth, geometry, span_of, two};
use super::params::{self, Args, Kind, Param, param, positional};
use super::{Entry, LayerSpec, Mask};
use crate::activation::Act;
use crate::ast::LayerCall;
use crate::ctxt::Ctxt;
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;
use std::rc::Rc;

const fn params_of(rank: usize) -> [Param; 17] {
    [
        positional("filters", Kind::Int { min: 1 }),
        positional("kernel_size", Kind::Ints(rank)),
        param("strides", Kind::Ints(rank)),
        param("padding", Kind::Choice(&["valid", "same"])),
        param("data_format", Kind::Choice(&["channels_last"])),
        param("dilation_rate", Kind::Ints(rank)),
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
    ]
}

const PARAMS1D: &[Param] = &params_of(1);
const PARAMS2D: &[Param] = &params_of(2);
const PARAMS3D: &[Param] = &params_of(3);

pub const CONV_LSTM1D: Entry = Entry { name: "ConvLSTM1D", params: PARAMS1D, read: |c, cx| read(c, 1, cx) };
pub const CONV_LSTM2D: Entry = Entry { name: "ConvLSTM2D", params: PARAMS2D, read: |c, cx| read(c, 2, cx) };
pub const CONV_LSTM3D: Entry = Entry { name: "ConvLSTM3D", params: PARAMS3D, read: |c, cx| read(c, 3, cx) };

const CLASSES: [&str; 3] = ["ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"];

fn read(call: &LayerCall, rank: usize, cx: &mut Ctxt) -> Option<Rc<dyn LayerSpec>> {
    let args: Args =
        params::read(call, [PARAMS1D, PARAMS2D, PARAMS3D][rank - 1], &["filters", "kernel_size"], cx)?;
    if args.bool(args.at("return_state"), false) {
        let class = CLASSES[rank - 1];
        cx.error(
            call.option_span("return_state"),
            format!("`{class}` with `return_state` is not supported yet"),
        );
        return None;
    }
    // The input's convolution's options, but the activation defaults to the LSTM's `tanh`.
    let window = Window {
        activation: args.activation_or(args.at("activation"), Act::named("Tanh")),
        ..Window::read(&args, rank)
    };
    Some(Rc::new(ConvLstm {
        window,
        filters: args.int(0, 1),
        recurrent_activation: args.activation_or(args.at("recurrent_activation"), Act::named("Sigmoid")),
        sequences: args.bool(args.at("return_sequences"), false),
        backwards: args.bool(args.at("go_backwards"), false),
    }))
}

struct ConvLstm {
    /// The input's convolution (its activation is the candidate's and the output's).
    window: Window,
    filters: usize,
    recurrent_activation: Act,
    sequences: bool,
    backwards: bool,
}

impl ConvLstm {
    /// One step of the input, and the state: its positions and their padding before.
    fn geometry(&self, input: &Shape) -> Result<(Shape, Shape, Vec<usize>), String> {
        let rank = self.window.rank;
        let Some((_, step)) = input.0.split_first().filter(|(_, s)| s.len() == rank + 1) else {
            let what = ["rows", "images", "volumes"][rank - 1];
            let axes = [
                "steps, rows, channels",
                "steps, height, width, channels",
                "steps, depth, height, width, channels",
            ];
            return Err(format!(
                "takes sequences of {what}, shape (None, {}), but its input is {input}",
                axes[rank - 1]
            ));
        };
        let step = Shape(step.to_vec());
        let w = &self.window;
        let axes =
            geometry(&step, rank, &w.kernel, &w.strides, &w.dilation, w.padding, "needs").map_err(|_| {
                let need: Vec<String> =
                    (0..rank).map(|a| span_of(w.kernel[a], w.dilation[a]).to_string()).collect();
                let unit = if rank == 1 { "rows" } else { "positions" };
                format!("needs at least {} {unit} in each step but its input is {input}", need.join("×"))
            })?;
        let mut state: Vec<usize> = axes.iter().map(|(o, _)| *o).collect();
        state.push(self.filters);
        Ok((step, Shape(state), axes.iter().map(|(_, p)| *p).collect()))
    }
}

impl LayerSpec for ConvLstm {
    fn class(&self) -> &'static str {
        CLASSES[self.window.rank - 1]
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        let (_, state, _) = self.geometry(input)?;
        Ok(if self.sequences { Shape([&input.0[..1], &state.0[..]].concat()) } else { state })
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let (Ok((_, state, pads)), Ok(y)) = (self.geometry(input), self.output(input)) else {
            return quote!(());
        };
        let w = &self.window;
        let (x, y, h) = (input.ty(t), y.ty(t), state.ty(t));
        let (f, f4, c, p) =
            (self.filters, self.filters.saturating_mul(4), input.last(), state.len() / self.filters);
        let ([kh, kw], kd) = (two(&w.kernel, 1), depth(&w.kernel, 1));
        let ([sh, sw], [dh, dw], [ph, pw]) = (two(&w.strides, 1), two(&w.dilation, 1), two(&pads, 0));
        let (sd, dd, pd) = (depth(&w.strides, 1), depth(&w.dilation, 1), depth(&pads, 0));
        // Over volumes, `KH` counts the rows of every kernel slice.
        let rows = kd.saturating_mul(kh);
        let (a, ra) = (&w.activation.ty, &self.recurrent_activation.ty);
        let (seq, back, bias) = (self.sequences, self.backwards, w.use_bias);
        quote!(::nn::layers::ConvLstm<
            #t, #x, #y, #h, #p, #c, #f, #f4, #rows, #kw, #sh, #sw, #dh, #dw, #ph, #pw, #a, #ra, #seq, #back, #bias,
            #kd, #sd, #dd, #pd
        >)
    }

    fn macs(&self, input: &Shape) -> usize {
        // Every step and output position: the input's and the state's taps into four gates.
        let Ok(y) = self.output(input) else { return 0 };
        let positions = y.len() / y.last().max(1);
        let steps = if self.sequences { 1 } else { input.0.first().copied().unwrap_or(1) };
        let taps: usize = self.window.kernel.iter().product();
        let per = taps.saturating_mul(input.last() + self.filters).saturating_mul(4 * self.filters);
        positions.saturating_mul(steps).saturating_mul(per)
    }

    fn variables(&self, input: &Shape) -> Vec<super::Variable> {
        let (c, f4) = (input.last(), self.filters.saturating_mul(4));
        let kernel = &self.window.kernel;
        let mut vars = vec![
            ("conv_lstm_cell/kernel", [&kernel[..], &[c, f4]].concat()),
            ("conv_lstm_cell/recurrent_kernel", [&kernel[..], &[self.filters, f4]].concat()),
        ];
        if self.window.use_bias {
            vars.push(("conv_lstm_cell/bias", vec![f4]));
        }
        vars
    }

    fn h5_group(&self) -> &'static str {
        "cell/vars"
    }

    fn options(&self, _input: &Shape, _t: &TokenStream) -> Vec<(&'static str, TokenStream)> {
        let (a, ra) = (self.window.activation.value_expr(), self.recurrent_activation.value_expr());
        vec![("activation", a), ("recurrent_activation", ra)]
    }

    fn mask(&self) -> Mask {
        Mask::Refuses("is a ConvLSTM, which nn does not skip masked steps in yet")
    }

    fn untrained(&self) -> &'static str {
        "is recurrent: recurrent layers have no backward pass yet"
    }
}
