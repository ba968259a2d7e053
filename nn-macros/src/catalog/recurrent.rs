//! `SimpleRNN`, `GRU` and `LSTM` (nn-core's `layers/recurrent.rs`).

use super::conv::spatial;
use super::params::{self, Args, Kind, Param, param, positional};
use super::{Entry, LayerSpec};
use crate::activation::Act;
use crate::ast::{Arg, LayerCall};
use crate::ctxt::Ctxt;
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;
use std::rc::Rc;

/// Options every recurrent layer has; `dropout`, `recurrent_dropout`, `stateful` and `unroll`
/// change nothing at inference (a model streams through `step` instead of `stateful`).
macro_rules! recurrent_params {
    ($($extra:expr),* $(,)?) => {
        &[
            positional("units", Kind::Int { min: 1 }),
            positional("activation", Kind::Activation),
            param("recurrent_activation", Kind::Activation),
            param("use_bias", Kind::Bool),
            param("return_sequences", Kind::Bool),
            param("return_state", Kind::Bool),
            param("go_backwards", Kind::Bool),
            param("stateful", Kind::Bool),
            param("unroll", Kind::Bool),
            param("dropout", Kind::Number),
            param("recurrent_dropout", Kind::Number),
            $($extra),*
        ]
    };
}

const SIMPLE_PARAMS: &[Param] = recurrent_params!();
const GRU_PARAMS: &[Param] = recurrent_params!(param("reset_after", Kind::Bool));
const LSTM_PARAMS: &[Param] = recurrent_params!(param("unit_forget_bias", Kind::Bool));

pub const SIMPLE_RNN: Entry = Entry {
    name: "SimpleRNN",
    params: SIMPLE_PARAMS,
    read: |c, cx| read(c, Which::Simple, SIMPLE_PARAMS, cx),
};
pub const GRU: Entry =
    Entry { name: "GRU", params: GRU_PARAMS, read: |c, cx| read(c, Which::Gru, GRU_PARAMS, cx) };
pub const LSTM: Entry =
    Entry { name: "LSTM", params: LSTM_PARAMS, read: |c, cx| read(c, Which::Lstm, LSTM_PARAMS, cx) };

#[derive(Clone, Copy, PartialEq)]
enum Which {
    Simple,
    Gru,
    Lstm,
}

struct Recurrent {
    kind: Which,
    units: usize,
    activation: Act,
    recurrent_activation: Act,
    use_bias: bool,
    sequences: bool,
    backwards: bool,
    /// Keras's `return_state`: the final states are outputs too.
    state: bool,
    reset_after: bool,
}

fn read(call: &LayerCall, kind: Which, params: &[Param], cx: &mut Ctxt) -> Option<Rc<dyn LayerSpec>> {
    let args: Args = params::read(call, params, &["units"], cx)?;
    Some(Rc::new(Recurrent {
        kind,
        units: args.int(0, 1),
        activation: args.activation_or(args.at("activation"), Act::named("Tanh")),
        recurrent_activation: args.activation_or(args.at("recurrent_activation"), Act::named("Sigmoid")),
        use_bias: args.bool(args.at("use_bias"), true),
        sequences: args.bool(args.at("return_sequences"), false),
        backwards: args.bool(args.at("go_backwards"), false),
        state: args.bool(args.at("return_state"), false),
        // Only GRU declares it.
        reset_after: kind == Which::Gru && args.bool(args.at("reset_after"), true),
    }))
}

impl Recurrent {
    fn gates(&self) -> usize {
        match self.kind {
            Which::Simple => 1,
            Which::Gru => 3,
            Which::Lstm => 4,
        }
    }

    fn cell(&self) -> (TokenStream, TokenStream) {
        let (a, r) = (&self.activation.ty, &self.recurrent_activation.ty);
        let (av, rv) = (self.activation.value_expr(), self.recurrent_activation.value_expr());
        let reset_after = self.reset_after;
        match self.kind {
            Which::Simple => {
                (quote!(::nn::layers::SimpleCell<#a>), quote!(::nn::layers::SimpleCell { activation: #av }))
            }
            Which::Gru => (
                quote!(::nn::layers::GruCell<#a, #r, #reset_after>),
                quote!(::nn::layers::GruCell { activation: #av, recurrent_activation: #rv }),
            ),
            Which::Lstm => (
                quote!(::nn::layers::LstmCell<#a, #r>),
                quote!(::nn::layers::LstmCell { activation: #av, recurrent_activation: #rv }),
            ),
        }
    }
}

impl LayerSpec for Recurrent {
    fn mask(&self) -> super::Mask {
        super::Mask::Reads { keeps: self.sequences }
    }

    fn stream(&self, _input: &Shape, t: &TokenStream) -> Result<Option<TokenStream>, String> {
        if self.backwards {
            return Err(
                "reads the sequence from its end (`go_backwards`), which a stream has not seen".into()
            );
        }
        let h = self.units;
        Ok(Some(quote!(::nn::stream::RnnState<#t, #h>)))
    }

    fn class(&self) -> &'static str {
        match self.kind {
            Which::Simple => "SimpleRNN",
            Which::Gru => "GRU",
            Which::Lstm => "LSTM",
        }
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        let (steps, _) = spatial(input, 1)?;
        Ok(if self.sequences { Shape(vec![steps[0], self.units]) } else { Shape::vector(self.units) })
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let (s, i) = (input.lead().first().copied().unwrap_or(1), input.last());
        let (h, gh) = (self.units, self.gates() * self.units);
        let (cell, _) = self.cell();
        let returns =
            if self.sequences { quote!(::nn::layers::Sequence) } else { quote!(::nn::layers::Last) };
        let (back, bias) = (self.backwards, self.use_bias);
        quote!(::nn::layers::Rnn<#t, #cell, #s, #i, #h, #gh, #returns, #back, #bias>)
    }

    fn variables(&self, input: &Shape) -> Vec<Vec<usize>> {
        let (i, h, gh) = (input.last(), self.units, self.gates() * self.units);
        let mut vars = vec![vec![i, gh], vec![h, gh]];
        if self.use_bias {
            vars.push(if self.reset_after { vec![2, gh] } else { vec![gh] });
        }
        vars
    }

    fn h5_group(&self) -> &'static str {
        "cell/vars"
    }

    fn initial_states(&self) -> Vec<Shape> {
        let n = if self.kind == Which::Lstm { 2 } else { 1 };
        vec![Shape::vector(self.units); n]
    }

    fn states(&self, _input: &Shape) -> Vec<Shape> {
        let n = match (self.state, self.kind) {
            (false, _) => 0,
            (true, Which::Lstm) => 2,
            (true, _) => 1,
        };
        vec![Shape::vector(self.units); n]
    }

    fn options(&self, _input: &Shape, _t: &TokenStream) -> Vec<(&'static str, TokenStream)> {
        vec![("cell", self.cell().1)]
    }
}

const RNN_PARAMS: &[Param] = &[
    positional("cell", Kind::Layer),
    param("return_sequences", Kind::Bool),
    param("return_state", Kind::Bool),
    param("go_backwards", Kind::Bool),
    param("stateful", Kind::Bool),
    param("unroll", Kind::Bool),
    param("zero_output_for_mask", Kind::Bool),
];

/// Keras's generic recurrent layer over a cell: `RNN<GRUCell<4>, return_sequences = true>` (or
/// `RNN<GRU<4>, ...>`) is the GRU layer under Keras's class `RNN`.
pub const RNN: Entry = Entry { name: "RNN", params: RNN_PARAMS, read: read_rnn };

fn read_rnn(call: &LayerCall, cx: &mut Ctxt) -> Option<Rc<dyn LayerSpec>> {
    let args = params::read(call, RNN_PARAMS, &["cell"], cx)?;
    if args.bool(args.at("zero_output_for_mask"), false) {
        // Keras then outputs zeros at masked steps; nn's recurrent layers repeat the state
        // there, as Keras's default does (Bidirectional zeroes them itself).
        let span = call.option_span("zero_output_for_mask");
        cx.error(span, "`RNN` with `zero_output_for_mask = true` is not supported yet");
        return None;
    }
    let cell = args.layer(0)?;
    let layer = match cell.kind.to_string().as_str() {
        "SimpleRNNCell" | "SimpleRNN" => "SimpleRNN",
        "GRUCell" | "GRU" => "GRU",
        "LSTMCell" | "LSTM" => "LSTM",
        other => {
            cx.error(
                cell.kind.span(),
                format!("`RNN` over a `{other}` cell is not supported: nn runs SimpleRNNCell, GRUCell and LSTMCell"),
            );
            return None;
        }
    };
    // The cell's options, then the RNN's own (but for the ones only the generic layer has).
    let own = call
        .args
        .iter()
        .filter(|a| matches!(a, Arg::Named { name, .. } if name != "cell" && name != "zero_output_for_mask"));
    let inner = LayerCall {
        label: None,
        kind: proc_macro2::Ident::new(layer, cell.kind.span()),
        model: None,
        args: cell.args.iter().chain(own).cloned().collect(),
    };
    let entry = super::LAYERS.iter().find(|e| e.name == layer)?;
    let layer = (entry.read)(&inner, cx)?;
    Some(Rc::new(super::Dressed { layer, frozen: false, class: Some("RNN") }))
}
