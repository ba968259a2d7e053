//! `Resizing`, `CenterCrop` (nn-core's `layers/resizing.rs`, which also runs `UpSampling2D` with
//! `interpolation = bilinear`): a box of the image, resized as `jax.image.resize` does.

use super::conv::spatial;
use super::params::{self, Kind, Param, param, positional};
use super::{Entry, LayerSpec};
use crate::ast::{Arg, LayerCall};
use crate::ctxt::Ctxt;
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;
use std::rc::Rc;

const RESIZING_PARAMS: &[Param] = &[
    positional("height", Kind::Int { min: 1 }),
    positional("width", Kind::Int { min: 1 }),
    param("interpolation", Kind::Choice(&["bilinear", "nearest"])),
    param("crop_to_aspect_ratio", Kind::Bool),
    param("pad_to_aspect_ratio", Kind::Bool),
    param("fill_mode", Kind::Choice(&["constant"])),
    param("fill_value", Kind::Number),
    param("antialias", Kind::Bool),
    param("data_format", Kind::Choice(&["channels_last"])),
];

const CENTER_CROP_PARAMS: &[Param] = &[
    positional("height", Kind::Int { min: 1 }),
    positional("width", Kind::Int { min: 1 }),
    param("data_format", Kind::Choice(&["channels_last"])),
];

pub const RESIZING: Entry = Entry { name: "Resizing", params: RESIZING_PARAMS, read: read_resizing };
pub const CENTER_CROP: Entry =
    Entry { name: "CenterCrop", params: CENTER_CROP_PARAMS, read: read_center_crop };

/// Which box nn-core's `Resize` takes (its `MODE`: `nn::layers::RESIZING` and the others).
#[derive(Clone, Copy, PartialEq)]
pub enum Mode {
    Whole,
    CropToAspectRatio,
    PadToAspectRatio,
    CenterCrop,
    UpSampling,
}

/// A resize of the input's box to `height × width`.
pub struct Resize {
    pub mode: Mode,
    pub height: usize,
    pub width: usize,
    pub bilinear: bool,
    /// `antialias = true`, which nn runs only where no axis shrinks.
    pub antialias: bool,
}

fn read_resizing(call: &LayerCall, cx: &mut Ctxt) -> Option<Rc<dyn LayerSpec>> {
    let args = params::read(call, RESIZING_PARAMS, &["height", "width"], cx)?;
    let pad = args.bool(args.at("pad_to_aspect_ratio"), false);
    if pad && args.number(args.at("fill_value"), 0.0) != 0.0 {
        let span = call
            .args
            .iter()
            .find_map(|a| match a {
                Arg::Named { name, value } if name == "fill_value" => Some(value.span()),
                _ => None,
            })
            .unwrap_or_else(|| call.kind.span());
        cx.error(
            span,
            "`Resizing` pads to the aspect ratio with zeros only: a `fill_value` other than 0 is not supported"
                .to_string(),
        );
        return None;
    }
    let crop = args.bool(args.at("crop_to_aspect_ratio"), false);
    let mode = match (crop, pad) {
        (true, _) => Mode::CropToAspectRatio,
        (false, true) => Mode::PadToAspectRatio,
        (false, false) => Mode::Whole,
    };
    Some(Rc::new(Resize {
        mode,
        height: args.int(args.at("height"), 1),
        width: args.int(args.at("width"), 1),
        bilinear: args.choice(args.at("interpolation"), "bilinear") == "bilinear",
        antialias: args.bool(args.at("antialias"), false),
    }))
}

fn read_center_crop(call: &LayerCall, cx: &mut Ctxt) -> Option<Rc<dyn LayerSpec>> {
    let args = params::read(call, CENTER_CROP_PARAMS, &["height", "width"], cx)?;
    Some(Rc::new(Resize {
        mode: Mode::CenterCrop,
        height: args.int(args.at("height"), 1),
        width: args.int(args.at("width"), 1),
        bilinear: true,
        antialias: false,
    }))
}

impl LayerSpec for Resize {
    fn trains(&self) -> bool {
        true
    }

    fn class(&self) -> &'static str {
        match self.mode {
            Mode::Whole | Mode::CropToAspectRatio | Mode::PadToAspectRatio => "Resizing",
            Mode::CenterCrop => "CenterCrop",
            Mode::UpSampling => "UpSampling2D",
        }
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        let (dims, c) = spatial(input, 2)?;
        if self.antialias && self.bilinear && (self.height < dims[0] || self.width < dims[1]) {
            return Err(format!(
                "shrinks its input {input} to {}×{} with `antialias = true`, which nn does not support",
                self.height, self.width
            ));
        }
        Ok(Shape(vec![self.height, self.width, c]))
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let (x, y) = (input.ty(t), self.output(input).unwrap_or_else(|_| input.clone()).ty(t));
        let bilinear = self.bilinear;
        let mode = match self.mode {
            Mode::Whole => quote!(::nn::layers::RESIZING),
            Mode::CropToAspectRatio => quote!(::nn::layers::RESIZING_CROPPED),
            Mode::PadToAspectRatio => quote!(::nn::layers::RESIZING_PADDED),
            Mode::CenterCrop => quote!(::nn::layers::CENTER_CROP),
            Mode::UpSampling => quote!(::nn::layers::UP_SAMPLING_2D),
        };
        quote!(::nn::layers::Resize<#x, #y, #bilinear, { #mode }>)
    }
}
