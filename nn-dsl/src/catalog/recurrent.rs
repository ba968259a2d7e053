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
    /// A cell of a stack: its weights named bare, in its own `vars` (nn-core's `Bare`).
    bare: bool,
    /// Keras's `zero_output_for_mask` (of the generic `RNN`): zeros at masked steps.
    zero_masked: bool,
}

fn read(call: &LayerCall, kind: Which, params: &[Param], cx: &mut Ctxt) -> Option<Rc<dyn LayerSpec>> {
    parse(call, kind, params, cx).map(|r| Rc::new(r) as Rc<dyn LayerSpec>)
}

fn parse(call: &LayerCall, kind: Which, params: &[Param], cx: &mut Ctxt) -> Option<Recurrent> {
    let args: Args = params::read(call, params, &["units"], cx)?;
    Some(Recurrent {
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
        bare: false,
        zero_masked: false,
    })
}

impl Recurrent {
    fn gates(&self) -> usize {
        match self.kind {
            Which::Simple => 1,
            Which::Gru => 3,
            Which::Lstm => 4,
        }
    }

    /// The cell's type and value, a stack's cell `Bare`.
    fn cell(&self) -> (TokenStream, TokenStream) {
        let (ty, value) = self.plain_cell();
        if self.bare {
            (quote!(::nn::layers::Bare<#ty>), quote!(::nn::layers::Bare(#value)))
        } else {
            (ty, value)
        }
    }

    fn plain_cell(&self) -> (TokenStream, TokenStream) {
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

    fn zeroes_masked(&self) -> bool {
        self.zero_masked
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

    fn macs(&self, input: &Shape) -> usize {
        // Every step: the input's and the state's products into every gate.
        let steps = input.len() / input.last().max(1);
        steps.saturating_mul((input.last() + self.units).saturating_mul(self.gates() * self.units))
    }

    fn variables(&self, input: &Shape) -> Vec<super::Variable> {
        let (i, h, gh) = (input.last(), self.units, self.gates() * self.units);
        // nn-core's names: under the cell's, a stack's bare cell's plain.
        let [kernel, recurrent, bias] = match (self.bare, self.kind) {
            (true, _) => ["kernel", "recurrent_kernel", "bias"],
            (false, Which::Simple) => {
                ["simple_rnn_cell/kernel", "simple_rnn_cell/recurrent_kernel", "simple_rnn_cell/bias"]
            }
            (false, Which::Gru) => ["gru_cell/kernel", "gru_cell/recurrent_kernel", "gru_cell/bias"],
            (false, Which::Lstm) => ["lstm_cell/kernel", "lstm_cell/recurrent_kernel", "lstm_cell/bias"],
        };
        let mut vars = vec![(kernel, vec![i, gh]), (recurrent, vec![h, gh])];
        if self.use_bias {
            vars.push((bias, if self.reset_after { vec![2, gh] } else { vec![gh] }));
        }
        vars
    }

    fn h5_group(&self) -> &'static str {
        if self.bare { "vars" } else { "cell/vars" }
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
    let cell = args.layer(0)?;
    if cell.kind == "StackedRNNCells" {
        return read_stacked(call, &args, cell, cx);
    }
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
    let (kind, params) = which(layer)?;
    let mut layer = parse(&inner, kind, params, cx)?;
    layer.zero_masked = args.bool(args.at("zero_output_for_mask"), false);
    Some(Rc::new(super::Dressed { layer: Rc::new(layer), frozen: false, class: Some("RNN") }))
}

/// The recurrent layer a cell's kind names (`GRUCell` or `GRU`).
fn which(kind: &str) -> Option<(Which, &'static [Param])> {
    Some(match kind {
        "SimpleRNNCell" | "SimpleRNN" => (Which::Simple, SIMPLE_PARAMS),
        "GRUCell" | "GRU" => (Which::Gru, GRU_PARAMS),
        "LSTMCell" | "LSTM" => (Which::Lstm, LSTM_PARAMS),
        _ => return None,
    })
}

/// `RNN<StackedRNNCells<GRUCell<4>, LSTMCell<2>>, ...>`: each cell the recurrent layer over it,
/// all but the last returning their sequences into the next, the first reading backwards if the
/// RNN does.
fn read_stacked(
    call: &LayerCall,
    args: &Args,
    stack: &LayerCall,
    cx: &mut Ctxt,
) -> Option<Rc<dyn LayerSpec>> {
    if args.bool(args.at("return_state"), false) {
        cx.error(
            call.option_span("return_state"),
            "`RNN` over `StackedRNNCells` with `return_state` is not supported yet",
        );
        return None;
    }
    let calls: Vec<&LayerCall> = stack
        .args
        .iter()
        .filter_map(|a| match a {
            Arg::Layer(c) => Some(&**c),
            other => {
                cx.error(
                    other.span(),
                    format!("`StackedRNNCells` takes cells, such as `GRUCell<4>`; found `{other}`"),
                );
                None
            }
        })
        .collect();
    if calls.len() < 2 {
        cx.error(stack.kind.span(), "`StackedRNNCells` needs at least two cells");
        return None;
    }
    let (sequences, backwards) =
        (args.bool(args.at("return_sequences"), false), args.bool(args.at("go_backwards"), false));
    let mut cells = Vec::new();
    let mut keys: Vec<(String, usize)> = Vec::new();
    for (i, cell) in calls.iter().enumerate() {
        let Some((kind, params)) = which(&cell.kind.to_string()) else {
            cx.error(cell.kind.span(), format!("`StackedRNNCells` over a `{}` cell is not supported: nn runs SimpleRNNCell, GRUCell and LSTMCell", cell.kind));
            return None;
        };
        let flag = |name: &str, on: bool| Arg::Named {
            name: proc_macro2::Ident::new(name, cell.kind.span()),
            value: Box::new(Arg::Bool(syn::LitBool::new(on, cell.kind.span()))),
        };
        let last = i + 1 == calls.len();
        let mut inner =
            LayerCall { label: None, kind: cell.kind.clone(), model: None, args: cell.args.clone() };
        inner.args.push(flag("return_sequences", !last || sequences));
        inner.args.push(flag("go_backwards", i == 0 && backwards));
        let mut layer = parse(&inner, kind, params, cx)?;
        layer.bare = true;
        // Keras keys a stack's cells by class, counted within the stack.
        let base = match kind {
            Which::Simple => "simple_rnn_cell",
            Which::Gru => "gru_cell",
            Which::Lstm => "lstm_cell",
        };
        let n = match keys.iter_mut().find(|(b, _)| b == base) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                keys.push((base.to_string(), 0));
                0
            }
        };
        let key = if n == 0 { base.to_string() } else { format!("{base}_{n}") };
        let name = cell.label.as_ref().map_or_else(|| key.clone(), ToString::to_string);
        cells.push(StackedCell { name, key, layer: Rc::new(layer) });
    }
    let name = stack.label.as_ref().map_or_else(|| "stacked_rnn_cells".to_string(), ToString::to_string);
    Some(Rc::new(Stacked { name, cells: Rc::new(cells) }))
}

/// One cell of a stack: its Keras name (`gru_cell_1`), its key in the weight file and its layer.
struct StackedCell {
    name: String,
    key: String,
    layer: Rc<dyn LayerSpec>,
}

/// Keras's `RNN` over `StackedRNNCells` (nn-core's `Stacked`): the cells' layers in a chain, the
/// later ones nested (`Stacked<A, Stacked<B, C>>`).
struct Stacked {
    /// The `StackedRNNCells`' own name, below the layer's in its weights' names.
    name: String,
    cells: Rc<Vec<StackedCell>>,
}

impl Stacked {
    /// The stack from cell `from` on, fed `input`: its type, and the cells' inputs in turn.
    fn chain(&self, from: usize, input: &Shape, t: &TokenStream) -> TokenStream {
        let cell = &self.cells[from].layer;
        let ty = cell.ty(input, t);
        if from + 1 == self.cells.len() {
            return ty;
        }
        let next = cell.output(input).unwrap_or_else(|_| input.clone());
        let rest = self.chain(from + 1, &next, t);
        quote!(::nn::layers::Stacked<#ty, #rest>)
    }

    /// Each cell's input, in turn.
    fn inputs(&self, input: &Shape) -> Vec<Shape> {
        let mut at = input.clone();
        self.cells
            .iter()
            .map(|c| {
                let this = at.clone();
                at = c.layer.output(&this).unwrap_or_else(|_| this.clone());
                this
            })
            .collect()
    }
}

impl LayerSpec for Stacked {
    fn class(&self) -> &'static str {
        "RNN"
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        self.cells.iter().try_fold(input.clone(), |x, c| c.layer.output(&x))
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        self.chain(0, input, t)
    }

    fn mask(&self) -> super::Mask {
        super::Mask::Refuses("runs a stack of cells, which nn does not skip masked steps in yet")
    }

    fn sublayers(&self, input: &Shape) -> Vec<super::Sublayer> {
        // `first` at each depth of the nesting, then the last cell as the innermost `then`.
        let inputs = self.inputs(input);
        let n = self.cells.len();
        self.cells
            .iter()
            .zip(inputs)
            .enumerate()
            .map(|(i, (cell, input))| {
                let path: Vec<&'static str> =
                    std::iter::repeat_n("then", i).chain((i + 1 < n).then_some("first")).collect();
                super::Sublayer {
                    path,
                    name: format!("{}/{}", self.name, cell.name),
                    h5: format!("cell/cells/{}", cell.key),
                    spec: cell.layer.clone(),
                    input,
                }
            })
            .collect()
    }
}
