//! `Dense`, on the last axis of a tensor of any rank, and `EinsumDense` where its equation is a
//! Dense layer over reshaped axes (nn-core's `layers/dense.rs`).

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

    fn variables(&self, input: &Shape) -> Vec<super::Variable> {
        let kernel = ("kernel", vec![input.last(), self.units]);
        if self.use_bias { vec![kernel, ("bias", vec![self.units])] } else { vec![kernel] }
    }

    fn macs(&self, input: &Shape) -> usize {
        // Every input value meets every unit.
        input.len().saturating_mul(self.units)
    }

    fn activation_value(&self) -> Option<&TokenStream> {
        self.activation.value.as_ref()
    }

    fn initializers(&self) -> Option<TokenStream> {
        self.initializers.clone()
    }
}

const EINSUM_PARAMS: &[Param] = &[
    positional("equation", Kind::Text),
    positional("output_shape", Kind::Dims),
    param("activation", Kind::Activation),
    param("bias_axes", Kind::Text),
    param("kernel_initializer", Kind::Initializer),
    param("bias_initializer", Kind::Initializer),
    param("lora_rank", Kind::Int { min: 1 }),
];

pub const EINSUM_DENSE: Entry = Entry { name: "EinsumDense", params: EINSUM_PARAMS, read: read_einsum };

/// The equations nn runs, for messages.
const EINSUM_FORMS: &str = "an input `(P..., C...)`, a kernel `(C..., O...)` and an output `(P..., O...)` \
     in that order, one or two axes each in `C` and `O` (`ab,bc->ac`, `abc,cde->abde`, `abcd,cde->abe`, \
     `...b,bc->...c`)";

/// `EinsumDense<"abc,cde->abde", (4, 8), bias_axes = "de">`, read as the Dense layer it is.
struct Einsum {
    /// The equation's three parts (without `...`), whether `...` starts the input and output,
    /// and the batch axis's letter (none with `...`).
    input: String,
    kernel: String,
    output: String,
    elided: bool,
    output_shape: Vec<i64>,
    bias_axes: Option<String>,
    activation: Act,
    initializers: Option<TokenStream>,
}

/// The sizes an equation gives an input: the positions (`P`), the contracted axes (`C`), the
/// output units (`O`), and whether there is a bias.
struct Axes {
    p: Vec<usize>,
    c: Vec<usize>,
    o: Vec<usize>,
    bias: bool,
}

fn read_einsum(call: &LayerCall, cx: &mut Ctxt) -> Option<Rc<dyn LayerSpec>> {
    let args = params::read(call, EINSUM_PARAMS, &["equation", "output_shape"], cx)?;
    let equation = args.text(0).unwrap_or_default();
    let span = call.args.first().map_or_else(|| call.kind.span(), Arg::span);
    if args.int(args.at("lora_rank"), 0) != 0 {
        cx.error(
            call.kind.span(),
            "`EinsumDense` with `lora_rank` is not supported: merge the LoRA weights first",
        );
        return None;
    }
    let parts = equation.replace("...", "0");
    let Some((input, rest)) = parts.split_once(',') else {
        cx.error(span, format!("`EinsumDense` equation `{equation}` is not `input,kernel->output`"));
        return None;
    };
    let Some((kernel, output)) = rest.split_once("->") else {
        cx.error(span, format!("`EinsumDense` equation `{equation}` is not `input,kernel->output`"));
        return None;
    };
    let elided = input.starts_with('0') && output.starts_with('0');
    let (input, output) = if elided { (&input[1..], &output[1..]) } else { (input, output) };
    let letters = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphabetic());
    if !letters(input) || !letters(kernel) || !letters(output) {
        cx.error(
            span,
            format!("`EinsumDense` equation `{equation}` is not one nn can run: it runs {EINSUM_FORMS}"),
        );
        return None;
    }
    Some(Rc::new(Einsum {
        input: input.into(),
        kernel: kernel.into(),
        output: output.into(),
        elided,
        output_shape: args.given_dims(1).unwrap_or_default(),
        bias_axes: args.text(args.at("bias_axes")),
        activation: args.activation(args.at("activation")),
        initializers: args.initializers().expr(),
    }))
}

/// An `EinsumDense` a layer builds inside itself, as Keras builds `MultiHeadAttention`'s: over
/// `input,kernel->output` (a batch axis first in the input and output), `output_shape` after
/// the batch axis (`-1` for a size kept from the input), linear, with a bias over all of the
/// kernel's output axes or none.
pub(super) fn einsum(
    (input, kernel, output): (&str, &str, &str),
    output_shape: Vec<i64>,
    bias: bool,
    initializers: Option<TokenStream>,
) -> Rc<dyn LayerSpec> {
    let bias_axes = bias.then(|| kernel.chars().filter(|c| output.contains(*c)).collect());
    Rc::new(Einsum {
        input: input.into(),
        kernel: kernel.into(),
        output: output.into(),
        elided: false,
        output_shape,
        bias_axes,
        activation: Act::linear(),
        initializers,
    })
}

impl Einsum {
    /// The equation's axes over `input`, or why nn cannot run it.
    fn axes(&self, input: &Shape) -> Result<Axes, String> {
        let cannot = || format!("has an equation nn cannot run: it runs {EINSUM_FORMS}");
        // Without `...`, the first letter of the input and output is the batch axis.
        let (x, y) = if self.elided {
            (self.input.as_str(), self.output.as_str())
        } else {
            match (self.input.split_at(1), self.output.split_at(1)) {
                ((b, x), (b2, y)) if b == b2 && !self.kernel.contains(b) => (x, y),
                _ => return Err(cannot()),
            }
        };
        let k = self.kernel.as_str();
        let in_all = |c: char| x.contains(c) && k.contains(c) && y.contains(c);
        let p: String = x.chars().filter(|&c| y.contains(c) && !k.contains(c)).collect();
        let c: String = x.chars().filter(|&ch| k.contains(ch) && !y.contains(ch)).collect();
        let o: String = k.chars().filter(|&ch| y.contains(ch) && !x.contains(ch)).collect();
        let ordered = x == format!("{p}{c}") && k == format!("{c}{o}") && y == format!("{p}{o}");
        if !ordered || x.chars().any(in_all) || !(1..=2).contains(&c.len()) || !(1..=2).contains(&o.len()) {
            return Err(cannot());
        }
        let dims = &input.0;
        let Some(elided) = dims.len().checked_sub(x.len()).filter(|&e| self.elided || e == 0) else {
            return Err(format!("has an equation of {} input axes but its input is {input}", x.len()));
        };
        // Keras's own output shape goes wrong with `...` over more than one axis besides the
        // batch (it lists them backwards), so nn leaves that out rather than guess.
        if self.elided && elided > 1 {
            return Err(format!("has `...` over {elided} axes of its input {input}; nn runs `...` over one"));
        }
        if elided + p.len() > 2 {
            return Err(format!(
                "runs over {} position axes of its input {input}; nn runs at most 2",
                elided + p.len()
            ));
        }
        if self.output_shape.len() != y.len() {
            return Err(format!(
                "has an `output_shape` of {} axes for an equation whose output has {}",
                self.output_shape.len(),
                y.len()
            ));
        }
        for (i, _) in p.chars().enumerate() {
            let (given, found) = (self.output_shape[i], dims[elided + i]);
            if given != -1 && given != found as i64 {
                return Err(format!("has an `output_shape` of {given} where its input {input} has {found}"));
            }
        }
        let o_sizes: Vec<usize> = self.output_shape[p.len()..].iter().map(|&v| v.max(1) as usize).collect();
        if self.output_shape[p.len()..].contains(&-1) {
            return Err("needs the size of every output axis the kernel makes in `output_shape`".into());
        }
        let bias = match &self.bias_axes {
            None => false,
            Some(b) if b.chars().collect::<std::collections::BTreeSet<_>>() == o.chars().collect() => true,
            Some(b) => {
                return Err(format!(
                    "has a bias over `{b}`; nn supports a bias over all the axes the kernel makes, `{o}`"
                ));
            }
        };
        Ok(Axes {
            p: dims[..elided + p.len()].to_vec(),
            c: dims[elided + p.len()..].to_vec(),
            o: o_sizes,
            bias,
        })
    }
}

impl LayerSpec for Einsum {
    fn trains(&self) -> bool {
        true
    }

    fn class(&self) -> &'static str {
        "EinsumDense"
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        let axes = self.axes(input)?;
        Ok(Shape([axes.p, axes.o].concat()))
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let Ok(axes) = self.axes(input) else { return quote!(()) };
        let (x, y) = (input.ty(t), Shape([axes.p.clone(), axes.o.clone()].concat()).ty(t));
        let (n_in, n_out): (usize, usize) = (axes.c.iter().product(), axes.o.iter().product());
        let lead = Shape([axes.p.clone(), vec![n_in]].concat()).lead_ty();
        let (c1, c2) = (axes.c[0], axes.c.get(1).copied().unwrap_or(0));
        let (o1, o2) = (axes.o[0], axes.o.get(1).copied().unwrap_or(0));
        let (act, bias) = (&self.activation.ty, axes.bias);
        quote!(::nn::layers::EinsumDense<#x, #y, #n_in, #n_out, #act, #bias, #lead, #c1, #c2, #o1, #o2>)
    }

    fn variables(&self, input: &Shape) -> Vec<super::Variable> {
        let Ok(axes) = self.axes(input) else { return Vec::new() };
        let kernel = ("kernel", [axes.c, axes.o.clone()].concat());
        if axes.bias { vec![kernel, ("bias", axes.o)] } else { vec![kernel] }
    }

    fn options(&self, _input: &Shape, _t: &TokenStream) -> Vec<(&'static str, TokenStream)> {
        self.activation.value.iter().map(|v| ("dense.activation", v.clone())).collect()
    }

    fn initializers(&self) -> Option<TokenStream> {
        self.initializers.clone()
    }
}
