//! `MaxPooling1D/2D/3D`, `AveragePooling1D/2D/3D`, the global pools and the adaptive ones
//! (nn-core's `layers/pooling.rs`).

use super::conv::{Padding, depth, geometry, spatial, two};
use super::params::{self, Kind, Param, param, positional};
use super::{Entry, LayerSpec};
use crate::ast::LayerCall;
use crate::ctxt::Ctxt;
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;
use std::rc::Rc;

const POOL1D_PARAMS: &[Param] = &[
    positional("pool_size", Kind::Ints(1)),
    param("strides", Kind::Ints(1)),
    param("padding", Kind::Choice(&["valid", "same"])),
    param("data_format", Kind::Choice(&["channels_last"])),
];

const POOL2D_PARAMS: &[Param] = &[
    positional("pool_size", Kind::Ints(2)),
    param("strides", Kind::Ints(2)),
    param("padding", Kind::Choice(&["valid", "same"])),
    param("data_format", Kind::Choice(&["channels_last"])),
];

const POOL3D_PARAMS: &[Param] = &[
    positional("pool_size", Kind::Ints(3)),
    param("strides", Kind::Ints(3)),
    param("padding", Kind::Choice(&["valid", "same"])),
    param("data_format", Kind::Choice(&["channels_last"])),
];

const GLOBAL_PARAMS: &[Param] =
    &[param("data_format", Kind::Choice(&["channels_last"])), param("keepdims", Kind::Bool)];

pub const MAX_POOLING1D: Entry =
    Entry { name: "MaxPooling1D", params: POOL1D_PARAMS, read: |c, cx| read(c, Op::Max, 1, cx) };
pub const MAX_POOLING2D: Entry =
    Entry { name: "MaxPooling2D", params: POOL2D_PARAMS, read: |c, cx| read(c, Op::Max, 2, cx) };
pub const AVERAGE_POOLING1D: Entry =
    Entry { name: "AveragePooling1D", params: POOL1D_PARAMS, read: |c, cx| read(c, Op::Average, 1, cx) };
pub const AVERAGE_POOLING2D: Entry =
    Entry { name: "AveragePooling2D", params: POOL2D_PARAMS, read: |c, cx| read(c, Op::Average, 2, cx) };
pub const MAX_POOLING3D: Entry =
    Entry { name: "MaxPooling3D", params: POOL3D_PARAMS, read: |c, cx| read(c, Op::Max, 3, cx) };
pub const AVERAGE_POOLING3D: Entry =
    Entry { name: "AveragePooling3D", params: POOL3D_PARAMS, read: |c, cx| read(c, Op::Average, 3, cx) };
pub const GLOBAL_MAX_POOLING3D: Entry =
    Entry { name: "GlobalMaxPooling3D", params: GLOBAL_PARAMS, read: |c, cx| read_global(c, Op::Max, 3, cx) };
pub const GLOBAL_AVERAGE_POOLING3D: Entry = Entry {
    name: "GlobalAveragePooling3D",
    params: GLOBAL_PARAMS,
    read: |c, cx| read_global(c, Op::Average, 3, cx),
};
pub const GLOBAL_MAX_POOLING1D: Entry =
    Entry { name: "GlobalMaxPooling1D", params: GLOBAL_PARAMS, read: |c, cx| read_global(c, Op::Max, 1, cx) };
pub const GLOBAL_MAX_POOLING2D: Entry =
    Entry { name: "GlobalMaxPooling2D", params: GLOBAL_PARAMS, read: |c, cx| read_global(c, Op::Max, 2, cx) };
pub const GLOBAL_AVERAGE_POOLING1D: Entry = Entry {
    name: "GlobalAveragePooling1D",
    params: GLOBAL_PARAMS,
    read: |c, cx| read_global(c, Op::Average, 1, cx),
};
pub const GLOBAL_AVERAGE_POOLING2D: Entry = Entry {
    name: "GlobalAveragePooling2D",
    params: GLOBAL_PARAMS,
    read: |c, cx| read_global(c, Op::Average, 2, cx),
};

const ADAPTIVE1D_PARAMS: &[Param] =
    &[positional("output_size", Kind::Ints(1)), param("data_format", Kind::Choice(&["channels_last"]))];
const ADAPTIVE2D_PARAMS: &[Param] =
    &[positional("output_size", Kind::Ints(2)), param("data_format", Kind::Choice(&["channels_last"]))];
const ADAPTIVE3D_PARAMS: &[Param] =
    &[positional("output_size", Kind::Ints(3)), param("data_format", Kind::Choice(&["channels_last"]))];

pub const ADAPTIVE_MAX_POOLING1D: Entry = Entry {
    name: "AdaptiveMaxPooling1D",
    params: ADAPTIVE1D_PARAMS,
    read: |c, cx| read_adaptive(c, Op::Max, 1, cx),
};
pub const ADAPTIVE_MAX_POOLING2D: Entry = Entry {
    name: "AdaptiveMaxPooling2D",
    params: ADAPTIVE2D_PARAMS,
    read: |c, cx| read_adaptive(c, Op::Max, 2, cx),
};
pub const ADAPTIVE_MAX_POOLING3D: Entry = Entry {
    name: "AdaptiveMaxPooling3D",
    params: ADAPTIVE3D_PARAMS,
    read: |c, cx| read_adaptive(c, Op::Max, 3, cx),
};
pub const ADAPTIVE_AVERAGE_POOLING3D: Entry = Entry {
    name: "AdaptiveAveragePooling3D",
    params: ADAPTIVE3D_PARAMS,
    read: |c, cx| read_adaptive(c, Op::Average, 3, cx),
};
pub const ADAPTIVE_AVERAGE_POOLING1D: Entry = Entry {
    name: "AdaptiveAveragePooling1D",
    params: ADAPTIVE1D_PARAMS,
    read: |c, cx| read_adaptive(c, Op::Average, 1, cx),
};
pub const ADAPTIVE_AVERAGE_POOLING2D: Entry = Entry {
    name: "AdaptiveAveragePooling2D",
    params: ADAPTIVE2D_PARAMS,
    read: |c, cx| read_adaptive(c, Op::Average, 2, cx),
};

#[derive(Clone, Copy)]
enum Op {
    Max,
    Average,
}

impl Op {
    fn ty(self) -> TokenStream {
        match self {
            Op::Max => quote!(::nn::layers::Max),
            Op::Average => quote!(::nn::layers::Average),
        }
    }
}

struct Pool {
    op: Op,
    rank: usize,
    size: Vec<usize>,
    strides: Vec<usize>,
    padding: Padding,
}

fn read(call: &LayerCall, op: Op, rank: usize, cx: &mut Ctxt) -> Option<Rc<dyn LayerSpec>> {
    let params = [POOL1D_PARAMS, POOL2D_PARAMS, POOL3D_PARAMS][rank - 1];
    let args = params::read(call, params, &[], cx)?;
    let size = args.ints(0, rank, 2);
    // Keras's strides default to the pool size.
    let strides = args.given_ints(1).unwrap_or_else(|| size.clone());
    Some(Rc::new(Pool { op, rank, size, strides, padding: Padding::read(&args, 2) }))
}

impl Pool {
    fn geometry(&self, input: &Shape) -> Result<Vec<(usize, usize)>, String> {
        spatial(input, self.rank)?;
        let ones = vec![1; self.rank];
        geometry(input, self.rank, &self.size, &self.strides, &ones, self.padding, "pools")
            .map_err(|e| format!("{e}, which leaves nothing"))
    }
}

impl LayerSpec for Pool {
    fn trains(&self) -> bool {
        true
    }

    fn class(&self) -> &'static str {
        let classes = match self.op {
            Op::Max => ["MaxPooling1D", "MaxPooling2D", "MaxPooling3D"],
            Op::Average => ["AveragePooling1D", "AveragePooling2D", "AveragePooling3D"],
        };
        classes[self.rank - 1]
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        let mut dims: Vec<usize> = self.geometry(input)?.iter().map(|(o, _)| *o).collect();
        dims.push(input.last());
        Ok(Shape(dims))
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let (x, y) = (input.ty(t), self.output(input).unwrap_or_else(|_| input.clone()).ty(t));
        let pads: Vec<usize> = self.geometry(input).unwrap_or_default().iter().map(|(_, p)| *p).collect();
        let ([kh, kw], [sh, sw], [ph, pw]) = (two(&self.size, 1), two(&self.strides, 1), two(&pads, 0));
        let (kd, sd, pd) = (depth(&self.size, 1), depth(&self.strides, 1), depth(&pads, 0));
        let op = self.op.ty();
        quote!(::nn::layers::Pool<#x, #y, #op, #kh, #kw, #sh, #sw, #ph, #pw, #kd, #sd, #pd>)
    }
}

struct Global {
    op: Op,
    rank: usize,
    keepdims: bool,
}

fn read_global(call: &LayerCall, op: Op, rank: usize, cx: &mut Ctxt) -> Option<Rc<dyn LayerSpec>> {
    let args = params::read(call, GLOBAL_PARAMS, &[], cx)?;
    Some(Rc::new(Global { op, rank, keepdims: args.bool(1, false) }))
}

impl LayerSpec for Global {
    fn mask(&self) -> super::Mask {
        // Keras's GlobalAveragePooling1D leaves masked steps out of its mean; the others do
        // not support masking.
        match (self.op, self.rank) {
            (Op::Average, 1) => super::Mask::Reads { keeps: false },
            _ => super::Mask::Drops,
        }
    }

    fn trains(&self) -> bool {
        true
    }

    fn class(&self) -> &'static str {
        let classes = match self.op {
            Op::Max => ["GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D"],
            Op::Average => ["GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D"],
        };
        classes[self.rank - 1]
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        let (_, c) = spatial(input, self.rank)?;
        Ok(if self.keepdims {
            let mut dims = vec![1; self.rank];
            dims.push(c);
            Shape(dims)
        } else {
            Shape::vector(c)
        })
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let (x, y) = (input.ty(t), self.output(input).unwrap_or_else(|_| input.clone()).ty(t));
        let op = self.op.ty();
        quote!(::nn::layers::GlobalPool<#x, #y, #op>)
    }
}

/// An adaptive pool: the output's spatial size, bins of the input under each position.
struct Adaptive {
    op: Op,
    rank: usize,
    size: Vec<usize>,
}

fn read_adaptive(call: &LayerCall, op: Op, rank: usize, cx: &mut Ctxt) -> Option<Rc<dyn LayerSpec>> {
    let params = [ADAPTIVE1D_PARAMS, ADAPTIVE2D_PARAMS, ADAPTIVE3D_PARAMS][rank - 1];
    let args = params::read(call, params, &["output_size"], cx)?;
    Some(Rc::new(Adaptive { op, rank, size: args.ints(0, rank, 1) }))
}

impl LayerSpec for Adaptive {
    fn trains(&self) -> bool {
        true
    }

    fn class(&self) -> &'static str {
        let classes = match self.op {
            Op::Max => ["AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D"],
            Op::Average => {
                ["AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D"]
            }
        };
        classes[self.rank - 1]
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        let (_, c) = spatial(input, self.rank)?;
        let mut dims = self.size.clone();
        dims.push(c);
        Ok(Shape(dims))
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let (x, y) = (input.ty(t), self.output(input).unwrap_or_else(|_| input.clone()).ty(t));
        let op = self.op.ty();
        quote!(::nn::layers::AdaptivePool<#x, #y, #op>)
    }
}
