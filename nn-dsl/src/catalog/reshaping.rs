//! `Flatten`, `Reshape`, `Permute`, `RepeatVector`, `ZeroPadding1D/2D/3D`, `Cropping1D/2D/3D`
//! and `UpSampling1D/2D/3D` (nn-core's `layers/reshaping.rs`).

use super::conv::{depth, spatial, two};
use super::params::{self, Kind, Param, param, positional};
use super::{Entry, LayerSpec};
use crate::ast::LayerCall;
use crate::ctxt::Ctxt;
use crate::shape::{MAX_RANK, Shape};
use proc_macro2::TokenStream;
use quote::quote;
use std::rc::Rc;

const FLATTEN_PARAMS: &[Param] = &[param("data_format", Kind::Choice(&["channels_last"]))];
const RESHAPE_PARAMS: &[Param] = &[positional("target_shape", Kind::Dims)];
const PERMUTE_PARAMS: &[Param] = &[positional("dims", Kind::Dims)];
const REPEAT_PARAMS: &[Param] = &[positional("n", Kind::Int { min: 1 })];
const PADDING1D_PARAMS: &[Param] = &[positional("padding", Kind::Pads(1))];
const PADDING2D_PARAMS: &[Param] =
    &[positional("padding", Kind::Pads(2)), param("data_format", Kind::Choice(&["channels_last"]))];
const PADDING3D_PARAMS: &[Param] =
    &[positional("padding", Kind::Pads(3)), param("data_format", Kind::Choice(&["channels_last"]))];
const CROPPING1D_PARAMS: &[Param] = &[positional("cropping", Kind::Pads(1))];
const CROPPING2D_PARAMS: &[Param] =
    &[positional("cropping", Kind::Pads(2)), param("data_format", Kind::Choice(&["channels_last"]))];
const CROPPING3D_PARAMS: &[Param] =
    &[positional("cropping", Kind::Pads(3)), param("data_format", Kind::Choice(&["channels_last"]))];
const UP1D_PARAMS: &[Param] = &[positional("size", Kind::Int { min: 1 })];
const UP3D_PARAMS: &[Param] =
    &[positional("size", Kind::Ints(3)), param("data_format", Kind::Choice(&["channels_last"]))];
const UP2D_PARAMS: &[Param] = &[
    positional("size", Kind::Ints(2)),
    param("data_format", Kind::Choice(&["channels_last"])),
    param("interpolation", Kind::Choice(&["nearest", "bilinear"])),
];

pub const FLATTEN: Entry = Entry {
    name: "Flatten",
    params: FLATTEN_PARAMS,
    read: |c, cx| {
        Some(Rc::new(View {
            flatten: true,
            target: params::read(c, FLATTEN_PARAMS, &[], cx).map(|_| Vec::new())?,
        }))
    },
};
pub const RESHAPE: Entry = Entry {
    name: "Reshape",
    params: RESHAPE_PARAMS,
    read: |c, cx| {
        Some(Rc::new(View {
            flatten: false,
            target: params::read(c, RESHAPE_PARAMS, &["target_shape"], cx)?.dims(0),
        }))
    },
};
pub const PERMUTE: Entry = Entry { name: "Permute", params: PERMUTE_PARAMS, read: read_permute };
pub const REPEAT_VECTOR: Entry = Entry {
    name: "RepeatVector",
    params: REPEAT_PARAMS,
    read: |c, cx| Some(Rc::new(Repeat(params::read(c, REPEAT_PARAMS, &["n"], cx)?.int(0, 1)))),
};
pub const ZERO_PADDING1D: Entry =
    Entry { name: "ZeroPadding1D", params: PADDING1D_PARAMS, read: |c, cx| read_edges(c, Edges::Pad, 1, cx) };
pub const ZERO_PADDING2D: Entry =
    Entry { name: "ZeroPadding2D", params: PADDING2D_PARAMS, read: |c, cx| read_edges(c, Edges::Pad, 2, cx) };
pub const ZERO_PADDING3D: Entry =
    Entry { name: "ZeroPadding3D", params: PADDING3D_PARAMS, read: |c, cx| read_edges(c, Edges::Pad, 3, cx) };
pub const CROPPING1D: Entry =
    Entry { name: "Cropping1D", params: CROPPING1D_PARAMS, read: |c, cx| read_edges(c, Edges::Crop, 1, cx) };
pub const CROPPING2D: Entry =
    Entry { name: "Cropping2D", params: CROPPING2D_PARAMS, read: |c, cx| read_edges(c, Edges::Crop, 2, cx) };
pub const CROPPING3D: Entry =
    Entry { name: "Cropping3D", params: CROPPING3D_PARAMS, read: |c, cx| read_edges(c, Edges::Crop, 3, cx) };
pub const UP_SAMPLING1D: Entry =
    Entry { name: "UpSampling1D", params: UP1D_PARAMS, read: |c, cx| read_up(c, 1, cx) };
pub const UP_SAMPLING2D: Entry =
    Entry { name: "UpSampling2D", params: UP2D_PARAMS, read: |c, cx| read_up(c, 2, cx) };
pub const UP_SAMPLING3D: Entry =
    Entry { name: "UpSampling3D", params: UP3D_PARAMS, read: |c, cx| read_up(c, 3, cx) };

/// `Flatten`, or `Reshape` to `target` (`-1` once for the size left over).
struct View {
    flatten: bool,
    target: Vec<i64>,
}

impl LayerSpec for View {
    fn trains(&self) -> bool {
        true
    }

    fn class(&self) -> &'static str {
        if self.flatten { "Flatten" } else { "Reshape" }
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        if self.flatten {
            return Ok(Shape::vector(input.len()));
        }
        if self.target.is_empty() || self.target.len() > MAX_RANK {
            return Err(format!("gives rank {}, but tensors have rank 1 to {MAX_RANK}", self.target.len()));
        }
        let known =
            self.target.iter().filter(|d| **d > 0).try_fold(1usize, |n, d| n.checked_mul(*d as usize));
        let Some(known) = known else {
            return Err(format!(
                "gives {} values, more than fit in a `usize`",
                Shape(self.target.iter().map(|d| d.max(&0).unsigned_abs() as usize).collect())
            ));
        };
        let unknown = self.target.iter().filter(|d| **d < 0).count();
        if unknown > 1 {
            return Err("may infer one size with `-1`, not several".into());
        }
        let fits = if unknown == 0 { known == input.len() } else { input.len().is_multiple_of(known) };
        if !fits {
            let sizes: Vec<String> = self.target.iter().filter(|d| **d > 0).map(i64::to_string).collect();
            return Err(if unknown == 0 {
                format!(
                    "holds {} = {known} values but its input {input} has {}",
                    sizes.join("×"),
                    input.len()
                )
            } else {
                format!("needs a multiple of {known} values but its input {input} has {}", input.len())
            });
        }
        Ok(Shape(
            self.target.iter().map(|d| if *d < 0 { input.len() / known } else { *d as usize }).collect(),
        ))
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let (x, y) = (input.ty(t), self.output(input).unwrap_or_else(|_| input.clone()).ty(t));
        if self.flatten {
            quote!(::nn::layers::Flatten<#x, #y>)
        } else {
            quote!(::nn::layers::Reshape<#x, #y>)
        }
    }

    fn is_view(&self) -> bool {
        true
    }
}

/// `Permute`: `dims[k]` (1-based) is the input axis that becomes output axis `k`.
struct Permute(Vec<usize>);

fn read_permute(call: &LayerCall, cx: &mut Ctxt) -> Option<Rc<dyn LayerSpec>> {
    let dims = params::read(call, PERMUTE_PARAMS, &["dims"], cx)?.dims(0);
    Some(Rc::new(Permute(dims.iter().map(|d| (*d).max(0) as usize).collect())))
}

impl LayerSpec for Permute {
    fn trains(&self) -> bool {
        true
    }

    fn class(&self) -> &'static str {
        "Permute"
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        let mut sorted = self.0.clone();
        sorted.sort_unstable();
        // A vector's only permutation, `(1,)`, is valid, as in Keras: the identity.
        if sorted != (1..=input.rank()).collect::<Vec<_>>() {
            let list: Vec<String> = (1..=input.rank()).map(|d| d.to_string()).collect();
            return Err(format!(
                "needs `dims` ordering every axis of its input {input}, a permutation of ({})",
                list.join(", ")
            ));
        }
        Ok(Shape(self.0.iter().map(|d| input.0[d - 1]).collect()))
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let (x, y) = (input.ty(t), self.output(input).unwrap_or_else(|_| input.clone()).ty(t));
        let p: Vec<usize> = (0..MAX_RANK).map(|k| self.0.get(k).copied().unwrap_or(0)).collect();
        quote!(::nn::layers::Permute<#x, #y, #(#p),*>)
    }
}

/// `RepeatVector(n)`.
struct Repeat(usize);

impl LayerSpec for Repeat {
    fn trains(&self) -> bool {
        true
    }

    fn class(&self) -> &'static str {
        "RepeatVector"
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        if input.rank() != 1 {
            return Err(format!("takes vectors, but its input is {input}"));
        }
        Ok(Shape(vec![self.0, input.last()]))
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let (x, y) = (input.ty(t), self.output(input).unwrap_or_else(|_| input.clone()).ty(t));
        quote!(::nn::layers::RepeatVector<#x, #y>)
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Edges {
    Pad,
    Crop,
}

/// `ZeroPadding1D/2D/3D` and `Cropping1D/2D/3D`: `(before, after)` per spatial axis.
struct EdgeLayer {
    edges: Edges,
    rank: usize,
    amounts: Vec<(usize, usize)>,
}

fn read_edges(call: &LayerCall, edges: Edges, rank: usize, cx: &mut Ctxt) -> Option<Rc<dyn LayerSpec>> {
    let params = match (edges, rank) {
        (Edges::Pad, 1) => PADDING1D_PARAMS,
        (Edges::Pad, 2) => PADDING2D_PARAMS,
        (Edges::Pad, _) => PADDING3D_PARAMS,
        (Edges::Crop, 1) => CROPPING1D_PARAMS,
        (Edges::Crop, 2) => CROPPING2D_PARAMS,
        (Edges::Crop, _) => CROPPING3D_PARAMS,
    };
    let args = params::read(call, params, &[], cx)?;
    // Keras's defaults: pad by 1 on every side, crop nothing.
    let amounts = match (edges, call.args.is_empty()) {
        (Edges::Pad, true) => vec![(1, 1); rank],
        _ => args.pads(0, rank),
    };
    Some(Rc::new(EdgeLayer { edges, rank, amounts }))
}

impl LayerSpec for EdgeLayer {
    fn trains(&self) -> bool {
        true
    }

    fn class(&self) -> &'static str {
        match (self.edges, self.rank) {
            (Edges::Pad, 1) => "ZeroPadding1D",
            (Edges::Pad, 2) => "ZeroPadding2D",
            (Edges::Pad, _) => "ZeroPadding3D",
            (Edges::Crop, 1) => "Cropping1D",
            (Edges::Crop, 2) => "Cropping2D",
            (Edges::Crop, _) => "Cropping3D",
        }
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        let (dims, c) = spatial(input, self.rank)?;
        let mut out = Vec::new();
        for (d, (before, after)) in dims.iter().zip(&self.amounts) {
            match self.edges {
                Edges::Pad => {
                    out.push(d.checked_add(*before).and_then(|d| d.checked_add(*after)).ok_or_else(|| {
                        format!("pads {before} + {after} positions onto {d}, more than fit in a `usize`")
                    })?)
                }
                Edges::Crop if before.checked_add(*after).is_some_and(|cut| cut < *d) => {
                    out.push(d - before - after)
                }
                Edges::Crop => {
                    return Err(format!(
                        "crops {before} + {after} of {d} positions, which leaves nothing of its input {input}"
                    ));
                }
            }
        }
        out.push(c);
        Ok(Shape(out))
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let (x, y) = (input.ty(t), self.output(input).unwrap_or_else(|_| input.clone()).ty(t));
        let before: Vec<usize> = self.amounts.iter().map(|(b, _)| *b).collect();
        let ([top, left], front) = (two(&before, 0), depth(&before, 0));
        match self.edges {
            Edges::Pad => quote!(::nn::layers::ZeroPadding<#x, #y, #top, #left, #front>),
            Edges::Crop => quote!(::nn::layers::Cropping<#x, #y, #top, #left, #front>),
        }
    }
}

/// `UpSampling1D/2D/3D` (nearest; `UpSampling2D` with `interpolation = bilinear` is a resize).
struct Up {
    rank: usize,
    size: Vec<usize>,
}

fn read_up(call: &LayerCall, rank: usize, cx: &mut Ctxt) -> Option<Rc<dyn LayerSpec>> {
    let params = [UP1D_PARAMS, UP2D_PARAMS, UP3D_PARAMS][rank - 1];
    let args = params::read(call, params, &[], cx)?;
    let size = args.ints(0, rank, 2);
    if rank == 2 && args.choice(args.at("interpolation"), "nearest") == "bilinear" {
        return Some(Rc::new(BilinearUp { up: Up { rank, size } }));
    }
    Some(Rc::new(Up { rank, size }))
}

/// `UpSampling2D` with `interpolation = bilinear`: nn-core's `Resize` of the whole image to the
/// upsampled size.
struct BilinearUp {
    up: Up,
}

impl BilinearUp {
    fn resize(&self, input: &Shape) -> super::resizing::Resize {
        let out = self.up.output(input).unwrap_or_else(|_| input.clone());
        let (height, width) = (out.0.first().copied().unwrap_or(1), out.0.get(1).copied().unwrap_or(1));
        super::resizing::Resize {
            mode: super::resizing::Mode::UpSampling,
            height,
            width,
            bilinear: true,
            antialias: false,
        }
    }
}

impl LayerSpec for BilinearUp {
    fn trains(&self) -> bool {
        true
    }

    fn class(&self) -> &'static str {
        "UpSampling2D"
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        self.up.output(input)
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        self.resize(input).ty(input, t)
    }
}

impl LayerSpec for Up {
    fn trains(&self) -> bool {
        true
    }

    fn class(&self) -> &'static str {
        ["UpSampling1D", "UpSampling2D", "UpSampling3D"][self.rank - 1]
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        let (dims, c) = spatial(input, self.rank)?;
        let mut out = Vec::new();
        for (d, s) in dims.iter().zip(&self.size) {
            out.push(d.checked_mul(*s).ok_or_else(|| {
                format!("repeats each of {d} positions {s} times, more than fit in a `usize`")
            })?);
        }
        out.push(c);
        Ok(Shape(out))
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let (x, y) = (input.ty(t), self.output(input).unwrap_or_else(|_| input.clone()).ty(t));
        let ([sh, sw], sd) = (two(&self.size, 1), depth(&self.size, 1));
        quote!(::nn::layers::UpSampling<#x, #y, #sh, #sw, #sd>)
    }
}
