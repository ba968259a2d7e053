//! `Conv1DTranspose`, `Conv2DTranspose` and `Conv3DTranspose` (nn-core's
//! `layers/conv_transpose.rs`): their output size and cropping from Keras's `padding` and
//! `output_padding`.

use super::conv::{Padding, Window, depth, spatial, two};
use super::params::{self, Kind, Param, param, positional};
use super::{Entry, LayerSpec};
use crate::ast::{Arg, LayerCall};
use crate::ctxt::Ctxt;
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;
use std::rc::Rc;

const fn params_of(rank: usize) -> [Param; 12] {
    [
        positional("filters", Kind::Int { min: 1 }),
        positional("kernel_size", Kind::Ints(rank)),
        param("strides", Kind::Ints(rank)),
        param("padding", Kind::Choice(&["valid", "same"])),
        param("output_padding", Kind::Offsets(rank)),
        param("data_format", Kind::Choice(&["channels_last"])),
        param("dilation_rate", Kind::Ints(rank)),
        param("activation", Kind::Activation),
        param("use_bias", Kind::Bool),
        param("kernel_initializer", Kind::Initializer),
        param("bias_initializer", Kind::Initializer),
        // Keras's config names it; nn's kernels have one group.
        param("groups", Kind::Int { min: 1 }),
    ]
}

const CONV1D_TRANSPOSE_PARAMS: &[Param] = &params_of(1);
const CONV2D_TRANSPOSE_PARAMS: &[Param] = &params_of(2);
const CONV3D_TRANSPOSE_PARAMS: &[Param] = &params_of(3);

pub const CONV1D_TRANSPOSE: Entry =
    Entry { name: "Conv1DTranspose", params: CONV1D_TRANSPOSE_PARAMS, read: |c, cx| read(c, 1, cx) };
pub const CONV2D_TRANSPOSE: Entry =
    Entry { name: "Conv2DTranspose", params: CONV2D_TRANSPOSE_PARAMS, read: |c, cx| read(c, 2, cx) };
pub const CONV3D_TRANSPOSE: Entry =
    Entry { name: "Conv3DTranspose", params: CONV3D_TRANSPOSE_PARAMS, read: |c, cx| read(c, 3, cx) };

struct ConvTranspose {
    window: Window,
    filters: usize,
    /// Keras's `output_padding`, when given (else it follows from the padding).
    output_padding: Option<Vec<usize>>,
    initializers: Option<TokenStream>,
}

fn read(call: &LayerCall, rank: usize, cx: &mut Ctxt) -> Option<Rc<dyn LayerSpec>> {
    let params = [CONV1D_TRANSPOSE_PARAMS, CONV2D_TRANSPOSE_PARAMS, CONV3D_TRANSPOSE_PARAMS][rank - 1];
    let args = params::read(call, params, &["filters", "kernel_size"], cx)?;
    let window = Window::read(&args, rank);
    let output_padding = args.given_ints(args.at("output_padding"));
    let span_of = |name: &str| {
        call.args.iter().find_map(|a| match a {
            Arg::Named { name: n, value } if n == name => Some(value.span()),
            _ => None,
        })
    };
    // Keras's own check: an output padding of a whole stride would be another input step.
    if let Some(op) = &output_padding
        && let Some(axis) = (0..rank).find(|&a| op[a] >= window.strides[a])
    {
        let span = span_of("output_padding").unwrap_or_else(|| call.kind.span());
        // Keras's wording, its dimensions counted from 0 without the batch.
        cx.error(
            span,
            format!(
                "`output_padding` of `{}` must be strictly less than `strides` in every dimension: at \
                 dimension {axis}, `output_padding` is {} but `strides` is {}",
                call.kind, op[axis], window.strides[axis]
            ),
        );
        return None;
    }
    if args.int(args.at("groups"), 1) != 1 {
        let span = span_of("groups").unwrap_or_else(|| call.kind.span());
        cx.error(span, format!("`{}` is supported with one group (`groups = 1`)", call.kind));
        return None;
    }
    Some(Rc::new(ConvTranspose {
        window,
        filters: args.int(args.at("filters"), 1),
        output_padding,
        initializers: args.initializers().expr(),
    }))
}

/// One axis of a transposed convolution over `input` positions: `(output size, positions
/// cropped from the start of the full spread)`, as Keras's JAX backend computes them
/// (`_get_output_shape_given_tf_padding`, `_convert_conv_transpose_padding_args_from_keras_to_jax`);
/// `None` if a size overflows.
fn axis(
    input: usize,
    k: usize,
    s: usize,
    d: usize,
    padding: Padding,
    op: Option<usize>,
) -> Option<(usize, usize)> {
    let span = k.checked_sub(1)?.checked_mul(d)?.checked_add(1)?;
    let spread = input.saturating_sub(1).checked_mul(s)?;
    match padding {
        Padding::Same => {
            let (out, pad) = match op {
                None => (input.checked_mul(s)?, s.checked_add(span)? - 2),
                Some(op) => (spread.checked_add(span % 2)?.checked_add(op)?, span + span % 2 - 2 + op),
            };
            let before = (pad / 2 + pad % 2).min(span - 1);
            Some((out, span - 1 - before))
        }
        _ => {
            let op = op.unwrap_or(span.max(s) - span);
            Some((spread.checked_add(span)?.checked_add(op)?, 0))
        }
    }
}

impl ConvTranspose {
    /// Per spatial axis `(output, cropped)`, or why there is no output.
    fn geometry(&self, input: &Shape) -> Result<Vec<(usize, usize)>, String> {
        let w = &self.window;
        let (dims, _) = spatial(input, w.rank)?;
        (0..w.rank)
            .map(|a| {
                let op = self.output_padding.as_ref().map(|o| o[a]);
                match axis(dims[a], w.kernel[a], w.strides[a], w.dilation[a], w.padding, op) {
                    None => Err(format!("would give an output too large to index on an input of {input}")),
                    Some((0, _)) => Err(format!(
                        "gives an output of 0 positions along axis {} on an input of {input} (kernel {}, \
                         `padding = same` and `output_padding = 0`)",
                        a + 1,
                        w.kernel[a]
                    )),
                    Some(axis) => Ok(axis),
                }
            })
            .collect()
    }
}

impl LayerSpec for ConvTranspose {
    fn initializers(&self) -> Option<TokenStream> {
        self.initializers.clone()
    }

    fn class(&self) -> &'static str {
        ["Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"][self.window.rank - 1]
    }

    fn trains(&self) -> bool {
        true
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        let mut dims: Vec<usize> = self.geometry(input)?.iter().map(|(o, _)| *o).collect();
        dims.push(self.filters);
        Ok(Shape(dims))
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let w = &self.window;
        let (x, y) = (input.ty(t), self.output(input).unwrap_or_else(|_| input.clone()).ty(t));
        let crops: Vec<usize> = self.geometry(input).unwrap_or_default().iter().map(|(_, c)| *c).collect();
        let ([kh, kw], [sh, sw], [dh, dw], [ph, pw]) =
            (two(&w.kernel, 1), two(&w.strides, 1), two(&w.dilation, 1), two(&crops, 0));
        let (kd, sd, dd, pd) =
            (depth(&w.kernel, 1), depth(&w.strides, 1), depth(&w.dilation, 1), depth(&crops, 0));
        // Over a volume, `KH` counts the rows of every kernel slice.
        let rows = kd.saturating_mul(kh);
        let (f, c, act, bias) = (self.filters, input.last(), &w.activation.ty, w.use_bias);
        quote!(::nn::layers::ConvTranspose<
            #x, #y, #rows, #kw, #f, #c, #sh, #sw, #dh, #dw, #ph, #pw, #act, #bias, #kd, #sd, #dd, #pd
        >)
    }

    fn variables(&self, input: &Shape) -> Vec<super::Variable> {
        let mut kernel = self.window.kernel.clone();
        kernel.extend([self.filters, input.last()]);
        let kernel = ("kernel", kernel);
        if self.window.use_bias { vec![kernel, ("bias", vec![self.filters])] } else { vec![kernel] }
    }

    fn macs(&self, input: &Shape) -> usize {
        // Each input value spreads over every tap of every filter.
        let taps: usize = self.window.kernel.iter().product();
        input.len().saturating_mul(taps).saturating_mul(self.filters)
    }

    fn activation_value(&self) -> Option<&TokenStream> {
        self.window.activation.value.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_sizes_and_crops_are_keras_s() {
        // (input, kernel, strides, dilation, padding, output_padding) -> Keras's output size
        // (`conv_transpose` of JAX's backend, by hand from its padding rule).
        assert_eq!(axis(5, 3, 1, 1, Padding::Valid, None), Some((7, 0)));
        assert_eq!(axis(6, 4, 2, 1, Padding::Same, None), Some((12, 1)));
        assert_eq!(axis(4, 3, 3, 1, Padding::Valid, Some(1)), Some((13, 0)));
        // Valid with a stride wider than the kernel: the default output padding fills it.
        assert_eq!(axis(3, 2, 3, 1, Padding::Valid, None), Some((9, 0)));
        assert_eq!(axis(5, 3, 1, 2, Padding::Same, None), Some((5, 2)));
        assert_eq!(axis(3, 3, 2, 1, Padding::Same, Some(1)), Some((6, 0)));
        assert_eq!(axis(1, 2, 1, 1, Padding::Same, Some(0)), Some((0, 1)));
        assert_eq!(axis(usize::MAX, 2, 3, 1, Padding::Valid, None), None);
    }
}
