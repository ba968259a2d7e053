//! `Conv1D`, `Conv2D`, `DepthwiseConv1D/2D` and `SeparableConv1D/2D` (nn-core's
//! `layers/conv.rs`), and the window geometry pooling and the transposed convolutions share.

use super::params::{self, Args, Kind, Param, param, positional};
use super::{Entry, LayerSpec};
use crate::activation::Act;
use crate::ast::LayerCall;
use crate::ctxt::Ctxt;
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;
use std::rc::Rc;

/// Keras's `padding` option.
#[derive(Clone, Copy, PartialEq)]
pub enum Padding {
    Valid,
    Same,
    /// Conv1D only: everything before, so no step sees the future.
    Causal,
}

impl Padding {
    pub fn read(args: &Args, i: usize) -> Padding {
        match args.choice(i, "valid").as_str() {
            "same" => Padding::Same,
            "causal" => Padding::Causal,
            _ => Padding::Valid,
        }
    }
}

/// One axis of a sliding window: `(output size, padding before)` for an input of `input`
/// positions, a window of `k` taps `d` apart moved `s` at a time, as Keras (and XLA's `SAME`)
/// compute them; `None` when `valid` padding leaves nothing.
/// A window too wide for a `usize` (its span overflows) leaves nothing either.
pub fn axis(input: usize, k: usize, s: usize, d: usize, padding: Padding) -> Option<(usize, usize)> {
    let span = k.checked_sub(1)?.checked_mul(d)?.checked_add(1)?;
    // Spans nn's window arithmetic cannot index (a causal padding of them) leave nothing too.
    if span > isize::MAX as usize / 8 {
        return None;
    }
    match padding {
        Padding::Valid => (input >= span).then(|| ((input - span) / s + 1, 0)),
        Padding::Same => {
            let out = input.div_ceil(s);
            let reach = (out - 1).checked_mul(s)?.checked_add(span)?;
            Some((out, reach.saturating_sub(input) / 2))
        }
        Padding::Causal => Some(((input - 1) / s + 1, span - 1)),
    }
}

/// `(k - 1) · d + 1` taps, saturating: what messages print of a window.
pub fn span_of(k: usize, d: usize) -> usize {
    k.saturating_sub(1).saturating_mul(d).saturating_add(1)
}

/// What a window-based layer sees of its input: `(spatial axes, channels)`, or the error for an
/// input of the wrong rank.
pub fn spatial(input: &Shape, rank: usize) -> Result<(Vec<usize>, usize), String> {
    if input.rank() != rank + 1 {
        let what = match rank {
            1 => "sequences (steps, channels)",
            2 => "images (height, width, channels)",
            _ => "volumes (depth, height, width, channels)",
        };
        return Err(format!("takes {what}, but its input is {input}"));
    }
    Ok((input.lead().to_vec(), input.last()))
}

/// A window over `rank` axes: per axis `(output, padding before)`, or the error naming the
/// positions the window needs.
pub fn geometry(
    input: &Shape,
    rank: usize,
    kernel: &[usize],
    strides: &[usize],
    dilation: &[usize],
    padding: Padding,
    verb: &str,
) -> Result<Vec<(usize, usize)>, String> {
    let (dims, _) = spatial(input, rank)?;
    let axes: Option<Vec<_>> =
        (0..rank).map(|a| axis(dims[a], kernel[a], strides[a], dilation[a], padding)).collect();
    axes.ok_or_else(|| {
        let need: Vec<String> = (0..rank).map(|a| span_of(kernel[a], dilation[a]).to_string()).collect();
        let unit = if rank == 1 { "steps" } else { "positions" };
        format!("{verb} {} {unit} but its input is {input}", need.join("×"))
    })
}

/// `[1, x]` for a sequence (a one-row image), `[a, b]` for an image: nn-core's two spatial axes
/// (a volume's last two).
pub fn two(v: &[usize], fill: usize) -> [usize; 2] {
    match v {
        [x] => [fill, *x],
        [a, b] | [_, a, b] => [*a, *b],
        _ => [fill, fill],
    }
}

/// A volume's first spatial axis, its depth; `fill` for a sequence or an image.
pub fn depth(v: &[usize], fill: usize) -> usize {
    match v {
        [d, _, _] => *d,
        _ => fill,
    }
}

const fn conv_params(rank: usize, paddings: &'static [&'static str]) -> [Param; 11] {
    [
        positional("filters", Kind::Int { min: 1 }),
        positional("kernel_size", Kind::Ints(rank)),
        param("strides", Kind::Ints(rank)),
        param("padding", Kind::Choice(paddings)),
        param("data_format", Kind::Choice(&["channels_last"])),
        param("dilation_rate", Kind::Ints(rank)),
        param("groups", Kind::Int { min: 1 }),
        param("activation", Kind::Activation),
        param("use_bias", Kind::Bool),
        param("kernel_initializer", Kind::Initializer),
        param("bias_initializer", Kind::Initializer),
    ]
}

const CONV1D_PARAMS: &[Param] = &conv_params(1, &["valid", "same", "causal"]);
const CONV2D_PARAMS: &[Param] = &conv_params(2, &["valid", "same"]);
const CONV3D_PARAMS: &[Param] = &conv_params(3, &["valid", "same"]);

pub const CONV1D: Entry = Entry { name: "Conv1D", params: CONV1D_PARAMS, read: |c, cx| read_conv(c, 1, cx) };
pub const CONV2D: Entry = Entry { name: "Conv2D", params: CONV2D_PARAMS, read: |c, cx| read_conv(c, 2, cx) };
pub const CONV3D: Entry = Entry { name: "Conv3D", params: CONV3D_PARAMS, read: |c, cx| read_conv(c, 3, cx) };

/// The options every convolution has (the transposed ones too).
pub struct Window {
    pub rank: usize,
    pub kernel: Vec<usize>,
    pub strides: Vec<usize>,
    pub dilation: Vec<usize>,
    pub padding: Padding,
    pub activation: Act,
    pub use_bias: bool,
}

impl Window {
    /// The options every convolution declares, by name.
    pub fn read(args: &Args, rank: usize) -> Window {
        Window {
            rank,
            kernel: args.ints(args.at("kernel_size"), rank, 1),
            strides: args.ints(args.at("strides"), rank, 1),
            padding: Padding::read(args, args.at("padding")),
            dilation: args.ints(args.at("dilation_rate"), rank, 1),
            activation: args.activation(args.at("activation")),
            use_bias: args.bool(args.at("use_bias"), true),
        }
    }

    fn geometry(&self, input: &Shape) -> Result<Vec<(usize, usize)>, String> {
        geometry(input, self.rank, &self.kernel, &self.strides, &self.dilation, self.padding, "needs")
    }

    /// nn-core's const parameters `KH, KW` / `SH, SW, DH, DW, PH, PW` for `input`, and over a
    /// volume the depth's `KD, SD, DD, PD` (`KH` then counts the rows of every kernel slice).
    fn params(&self, input: &Shape) -> (TokenStream, TokenStream, TokenStream) {
        let pads: Vec<usize> = self.geometry(input).unwrap_or_default().iter().map(|(_, p)| *p).collect();
        let ([kh, kw], kd) = (two(&self.kernel, 1), depth(&self.kernel, 1));
        let ([sh, sw], [dh, dw], [ph, pw]) = (two(&self.strides, 1), two(&self.dilation, 1), two(&pads, 0));
        let (sd, dd, pd) = (depth(&self.strides, 1), depth(&self.dilation, 1), depth(&pads, 0));
        let rows = kd.saturating_mul(kh);
        (quote!(#rows, #kw), quote!(#sh, #sw, #dh, #dw, #ph, #pw), quote!(#kd, #sd, #dd, #pd))
    }

    fn output(&self, input: &Shape, channels: usize) -> Result<Shape, String> {
        let mut dims: Vec<usize> = self.geometry(input)?.iter().map(|(o, _)| *o).collect();
        dims.push(channels);
        Ok(Shape(dims))
    }
}

struct Conv {
    window: Window,
    filters: usize,
    groups: usize,
    initializers: Option<TokenStream>,
}

fn read_conv(call: &LayerCall, rank: usize, cx: &mut Ctxt) -> Option<Rc<dyn LayerSpec>> {
    let params = [CONV1D_PARAMS, CONV2D_PARAMS, CONV3D_PARAMS][rank - 1];
    let args = params::read(call, params, &["filters", "kernel_size"], cx)?;
    Some(Rc::new(Conv {
        window: Window::read(&args, rank),
        filters: args.int(args.at("filters"), 1),
        groups: args.int(args.at("groups"), 1),
        initializers: args.initializers().expr(),
    }))
}

impl LayerSpec for Conv {
    fn initializers(&self) -> Option<TokenStream> {
        self.initializers.clone()
    }

    fn stream(&self, input: &Shape, t: &TokenStream) -> Result<Option<TokenStream>, String> {
        let w = &self.window;
        if w.rank != 1 || !matches!(w.padding, Padding::Causal) {
            return Err("is not causal: an output step needs input steps after it".into());
        }
        if w.strides[0] != 1 || self.groups != 1 {
            return Err("steps only with stride 1 and one group".into());
        }
        let (c, span) = (input.last(), span_of(w.kernel[0], w.dilation[0]));
        Ok(Some(quote!(::nn::stream::Ring<#t, #span, #c>)))
    }

    fn class(&self) -> &'static str {
        ["Conv1D", "Conv2D", "Conv3D"][self.window.rank - 1]
    }

    fn trains(&self) -> bool {
        true
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        let (_, channels) = spatial(input, self.window.rank)?;
        if !channels.is_multiple_of(self.groups) || !self.filters.is_multiple_of(self.groups) {
            return Err(format!(
                "has {} groups, which must divide both its {} filters and the input's {channels} channels",
                self.groups, self.filters
            ));
        }
        self.window.output(input, self.filters)
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let (x, y) = (input.ty(t), self.output(input).unwrap_or_else(|_| input.clone()).ty(t));
        let (kernel, rest, depth) = self.window.params(input);
        let (cg, f, act, bias) =
            (input.last() / self.groups, self.filters, &self.window.activation.ty, self.window.use_bias);
        quote!(::nn::layers::Conv<#x, #y, #kernel, #cg, #f, #rest, #act, #bias, #depth>)
    }

    fn variables(&self, input: &Shape) -> Vec<super::Variable> {
        let mut kernel = self.window.kernel.clone();
        kernel.extend([input.last() / self.groups, self.filters]);
        let kernel = ("kernel", kernel);
        if self.window.use_bias { vec![kernel, ("bias", vec![self.filters])] } else { vec![kernel] }
    }

    fn macs(&self, input: &Shape) -> usize {
        // Each output value: its group's channels under every tap (the padding's included).
        let outputs = self.output(input).map_or(0, |y| y.len());
        let taps: usize = self.window.kernel.iter().product();
        outputs.saturating_mul(taps).saturating_mul(input.last() / self.groups.max(1))
    }

    fn activation_value(&self) -> Option<&TokenStream> {
        self.window.activation.value.as_ref()
    }
}

const fn depthwise_params(rank: usize) -> [Param; 10] {
    [
        positional("kernel_size", Kind::Ints(rank)),
        param("strides", Kind::Ints(rank)),
        param("padding", Kind::Choice(&["valid", "same"])),
        param("depth_multiplier", Kind::Int { min: 1 }),
        param("data_format", Kind::Choice(&["channels_last"])),
        param("dilation_rate", Kind::Ints(rank)),
        param("activation", Kind::Activation),
        param("use_bias", Kind::Bool),
        param("depthwise_initializer", Kind::Initializer),
        param("bias_initializer", Kind::Initializer),
    ]
}

const DEPTHWISE1D_PARAMS: &[Param] = &depthwise_params(1);
const DEPTHWISE2D_PARAMS: &[Param] = &depthwise_params(2);

pub const DEPTHWISE_CONV1D: Entry =
    Entry { name: "DepthwiseConv1D", params: DEPTHWISE1D_PARAMS, read: |c, cx| read_depthwise(c, 1, cx) };
pub const DEPTHWISE_CONV2D: Entry =
    Entry { name: "DepthwiseConv2D", params: DEPTHWISE2D_PARAMS, read: |c, cx| read_depthwise(c, 2, cx) };

const fn separable_params(rank: usize) -> [Param; 12] {
    [
        positional("filters", Kind::Int { min: 1 }),
        positional("kernel_size", Kind::Ints(rank)),
        param("strides", Kind::Ints(rank)),
        param("padding", Kind::Choice(&["valid", "same"])),
        param("depth_multiplier", Kind::Int { min: 1 }),
        param("data_format", Kind::Choice(&["channels_last"])),
        param("dilation_rate", Kind::Ints(rank)),
        param("activation", Kind::Activation),
        param("use_bias", Kind::Bool),
        param("depthwise_initializer", Kind::Initializer),
        param("pointwise_initializer", Kind::Initializer),
        param("bias_initializer", Kind::Initializer),
    ]
}

const SEPARABLE1D_PARAMS: &[Param] = &separable_params(1);
const SEPARABLE2D_PARAMS: &[Param] = &separable_params(2);

pub const SEPARABLE_CONV1D: Entry =
    Entry { name: "SeparableConv1D", params: SEPARABLE1D_PARAMS, read: |c, cx| read_separable(c, 1, cx) };
pub const SEPARABLE_CONV2D: Entry =
    Entry { name: "SeparableConv2D", params: SEPARABLE2D_PARAMS, read: |c, cx| read_separable(c, 2, cx) };

/// `DepthwiseConv2D`, or with `filters` the depthwise step of `SeparableConv2D`.
struct Depthwise {
    window: Window,
    multiplier: usize,
    /// `SeparableConv2D`'s pointwise filters.
    filters: Option<usize>,
    initializers: Option<TokenStream>,
}

fn read_depthwise(call: &LayerCall, rank: usize, cx: &mut Ctxt) -> Option<Rc<dyn LayerSpec>> {
    let params = if rank == 1 { DEPTHWISE1D_PARAMS } else { DEPTHWISE2D_PARAMS };
    let args = params::read(call, params, &["kernel_size"], cx)?;
    Some(Rc::new(Depthwise {
        window: Window::read(&args, rank),
        multiplier: args.int(args.at("depth_multiplier"), 1),
        filters: None,
        initializers: args.initializers().expr(),
    }))
}

fn read_separable(call: &LayerCall, rank: usize, cx: &mut Ctxt) -> Option<Rc<dyn LayerSpec>> {
    let params = if rank == 1 { SEPARABLE1D_PARAMS } else { SEPARABLE2D_PARAMS };
    let args = params::read(call, params, &["filters", "kernel_size"], cx)?;
    Some(Rc::new(Depthwise {
        window: Window::read(&args, rank),
        multiplier: args.int(args.at("depth_multiplier"), 1),
        filters: Some(args.int(args.at("filters"), 1)),
        initializers: args.initializers().expr(),
    }))
}

impl LayerSpec for Depthwise {
    fn initializers(&self) -> Option<TokenStream> {
        self.initializers.clone()
    }

    fn class(&self) -> &'static str {
        match (self.filters.is_some(), self.window.rank) {
            (true, 1) => "SeparableConv1D",
            (true, _) => "SeparableConv2D",
            (false, 1) => "DepthwiseConv1D",
            (false, _) => "DepthwiseConv2D",
        }
    }

    fn trains(&self) -> bool {
        true
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        let (_, c) = spatial(input, self.window.rank)?;
        let channels = c.checked_mul(self.multiplier).ok_or_else(|| {
            format!("multiplies {c} channels by {}, more than fit in a `usize`", self.multiplier)
        })?;
        self.window.output(input, self.filters.unwrap_or(channels))
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let x = input.ty(t);
        let y = self.output(input).unwrap_or_else(|_| input.clone());
        let (kernel, rest, _) = self.window.params(input);
        let (c, m, act, bias) =
            (input.last(), self.multiplier, &self.window.activation.ty, self.window.use_bias);
        match self.filters {
            None => {
                let y = y.ty(t);
                quote!(::nn::layers::DepthwiseConv<#x, #y, #kernel, #c, #m, #rest, #act, #bias>)
            }
            Some(f) => {
                let z = y.with_last(c * m);
                let (z, y, cm) = (z.ty(t), y.ty(t), c * m);
                quote!(::nn::layers::SeparableConv<#x, #z, #y, #kernel, #c, #m, #cm, #f, #rest, #act, #bias>)
            }
        }
    }

    fn variables(&self, input: &Shape) -> Vec<super::Variable> {
        let (c, m) = (input.last(), self.multiplier);
        let mut depthwise = self.window.kernel.clone();
        depthwise.extend([c, m]);
        // A separable convolution's first kernel is its `depthwise_kernel`; a depthwise
        // convolution's only one, its `kernel`.
        let mut vars = vec![(if self.filters.is_some() { "depthwise_kernel" } else { "kernel" }, depthwise)];
        let out = match self.filters {
            Some(f) => {
                let mut pointwise = vec![1; self.window.rank];
                pointwise.extend([c * m, f]);
                vars.push(("pointwise_kernel", pointwise));
                f
            }
            None => c * m,
        };
        if self.window.use_bias {
            vars.push(("bias", vec![out]));
        }
        vars
    }

    fn macs(&self, input: &Shape) -> usize {
        // The depthwise taps of each of the `c · m` intermediate values, then the pointwise
        // product of each position's `c · m` values into its `f` filters.
        let (c, m) = (input.last(), self.multiplier);
        let Ok(y) = self.output(input) else { return 0 };
        let positions = y.len() / y.last().max(1);
        let taps: usize = self.window.kernel.iter().product();
        let depthwise = positions.saturating_mul(c * m).saturating_mul(taps);
        depthwise.saturating_add(self.filters.map_or(0, |f| positions.saturating_mul(c * m * f)))
    }

    fn activation_value(&self) -> Option<&TokenStream> {
        self.window.activation.value.as_ref()
    }
}
