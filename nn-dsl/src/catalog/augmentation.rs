//! Keras 3's random image augmentation layers (nn-core's `layers/augmentation.rs`): the
//! identity at inference, so a view in the model. Each takes Keras's options by their config
//! names, read and checked but otherwise ignored, since none changes what the layer does at
//! inference (they shape the random transformation Keras draws in training). They do not train:
//! Keras augments in training and nn does not, so a model holding one has no training sweep, and
//! `#[compile]` says so ([`LayerSpec::untrained`]).

use super::params::{self, Kind, Param, param, positional};
use super::{Entry, LayerSpec};
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use std::rc::Rc;

const SEED: Param = param("seed", Kind::Int { min: 0 });
const DATA_FORMAT: Param = param("data_format", Kind::Choice(&["channels_last", "channels_first"]));
const VALUE_RANGE: Param = param("value_range", Kind::Numbers);
const FILL_MODE: Param = param("fill_mode", Kind::Choice(&["reflect", "wrap", "constant", "nearest"]));
const INTERPOLATION: Param = param("interpolation", Kind::Choice(&["nearest", "bilinear"]));
const FILL_VALUE: Param = param("fill_value", Kind::Numbers);

/// An augmentation layer's entry: its class (the nn-core type's name too), parameters, and
/// those Keras requires.
macro_rules! augmentation {
    ($entry:ident, $class:literal, [$($param:expr),* $(,)?], [$($required:literal),*]) => {
        pub const $entry: Entry = Entry {
            name: $class,
            params: &[$($param),*],
            read: |c, cx| {
                params::read(c, $entry.params, &[$($required),*], cx)?;
                Some(Rc::new(Augmentation($class)))
            },
        };
    };
}

augmentation!(
    RANDOM_FLIP,
    "RandomFlip",
    [
        positional("mode", Kind::Choice(&["horizontal_and_vertical", "horizontal", "vertical"])),
        SEED,
        DATA_FORMAT
    ],
    []
);
augmentation!(
    RANDOM_ROTATION,
    "RandomRotation",
    [positional("factor", Kind::Numbers), FILL_MODE, INTERPOLATION, SEED, FILL_VALUE, DATA_FORMAT],
    ["factor"]
);
augmentation!(
    RANDOM_ZOOM,
    "RandomZoom",
    [
        positional("height_factor", Kind::Numbers),
        positional("width_factor", Kind::Numbers),
        FILL_MODE,
        INTERPOLATION,
        SEED,
        FILL_VALUE,
        DATA_FORMAT,
    ],
    ["height_factor"]
);
augmentation!(
    RANDOM_TRANSLATION,
    "RandomTranslation",
    [
        positional("height_factor", Kind::Numbers),
        positional("width_factor", Kind::Numbers),
        FILL_MODE,
        INTERPOLATION,
        SEED,
        FILL_VALUE,
        DATA_FORMAT,
    ],
    ["height_factor", "width_factor"]
);
augmentation!(
    RANDOM_CONTRAST,
    "RandomContrast",
    [positional("factor", Kind::Numbers), VALUE_RANGE, SEED, DATA_FORMAT],
    ["factor"]
);
augmentation!(
    RANDOM_BRIGHTNESS,
    "RandomBrightness",
    [positional("factor", Kind::Numbers), VALUE_RANGE, SEED, DATA_FORMAT],
    ["factor"]
);
augmentation!(
    RANDOM_COLOR_DEGENERATION,
    "RandomColorDegeneration",
    [positional("factor", Kind::Numbers), VALUE_RANGE, DATA_FORMAT, SEED],
    ["factor"]
);
augmentation!(
    RANDOM_COLOR_JITTER,
    "RandomColorJitter",
    [
        VALUE_RANGE,
        param("brightness_factor", Kind::Numbers),
        param("contrast_factor", Kind::Numbers),
        param("saturation_factor", Kind::Numbers),
        param("hue_factor", Kind::Numbers),
        SEED,
        DATA_FORMAT,
    ],
    []
);
augmentation!(
    RANDOM_ELASTIC_TRANSFORM,
    "RandomElasticTransform",
    [
        positional("factor", Kind::Numbers),
        param("scale", Kind::Numbers),
        INTERPOLATION,
        param("fill_mode", Kind::Choice(&["reflect", "wrap", "constant", "nearest", "mirror"])),
        FILL_VALUE,
        VALUE_RANGE,
        SEED,
        DATA_FORMAT,
    ],
    []
);
augmentation!(
    RANDOM_ERASING,
    "RandomErasing",
    [
        positional("factor", Kind::Numbers),
        param("scale", Kind::Numbers),
        FILL_VALUE,
        VALUE_RANGE,
        SEED,
        DATA_FORMAT
    ],
    []
);
augmentation!(
    RANDOM_GAUSSIAN_BLUR,
    "RandomGaussianBlur",
    [
        positional("factor", Kind::Numbers),
        param("kernel_size", Kind::Ints(2)),
        param("sigma", Kind::Numbers),
        VALUE_RANGE,
        DATA_FORMAT,
        SEED,
    ],
    []
);
augmentation!(
    RANDOM_GRAYSCALE,
    "RandomGrayscale",
    [positional("factor", Kind::Numbers), DATA_FORMAT, SEED],
    []
);
augmentation!(
    RANDOM_HUE,
    "RandomHue",
    [positional("factor", Kind::Numbers), VALUE_RANGE, DATA_FORMAT, SEED],
    ["factor"]
);
augmentation!(
    RANDOM_INVERT,
    "RandomInvert",
    [positional("factor", Kind::Numbers), VALUE_RANGE, SEED, DATA_FORMAT],
    []
);
augmentation!(
    RANDOM_PERSPECTIVE,
    "RandomPerspective",
    [
        positional("factor", Kind::Numbers),
        param("scale", Kind::Numbers),
        INTERPOLATION,
        FILL_VALUE,
        SEED,
        DATA_FORMAT
    ],
    []
);
augmentation!(
    RANDOM_POSTERIZATION,
    "RandomPosterization",
    [positional("factor", Kind::Numbers), VALUE_RANGE, DATA_FORMAT, SEED],
    ["factor"]
);
augmentation!(
    RANDOM_SATURATION,
    "RandomSaturation",
    [positional("factor", Kind::Numbers), VALUE_RANGE, DATA_FORMAT, SEED],
    ["factor"]
);
augmentation!(
    RANDOM_SHARPNESS,
    "RandomSharpness",
    [positional("factor", Kind::Numbers), VALUE_RANGE, DATA_FORMAT, SEED],
    ["factor"]
);
augmentation!(
    RANDOM_SHEAR,
    "RandomShear",
    [
        positional("x_factor", Kind::Numbers),
        positional("y_factor", Kind::Numbers),
        INTERPOLATION,
        FILL_MODE,
        FILL_VALUE,
        DATA_FORMAT,
        SEED,
    ],
    []
);

augmentation!(
    AUG_MIX,
    "AugMix",
    [
        VALUE_RANGE,
        param("num_chains", Kind::Int { min: 1 }),
        param("chain_depth", Kind::Numbers),
        param("factor", Kind::Numbers),
        param("alpha", Kind::Numbers),
        param("all_ops", Kind::Bool),
        INTERPOLATION,
        SEED,
        DATA_FORMAT,
    ],
    []
);
augmentation!(CUT_MIX, "CutMix", [positional("factor", Kind::Numbers), SEED, DATA_FORMAT], []);
augmentation!(MIX_UP, "MixUp", [positional("alpha", Kind::Numbers), DATA_FORMAT, SEED], []);
augmentation!(
    RAND_AUGMENT,
    "RandAugment",
    [
        VALUE_RANGE,
        param("num_ops", Kind::Int { min: 0 }),
        param("factor", Kind::Numbers),
        INTERPOLATION,
        SEED,
        DATA_FORMAT,
    ],
    []
);
augmentation!(
    SOLARIZATION,
    "Solarization",
    [
        positional("addition_factor", Kind::Numbers),
        positional("threshold_factor", Kind::Numbers),
        VALUE_RANGE,
        SEED,
    ],
    []
);
augmentation!(
    EQUALIZATION,
    "Equalization",
    [VALUE_RANGE, param("bins", Kind::Int { min: 1 }), DATA_FORMAT],
    []
);

/// A random augmentation layer, by its Keras class.
struct Augmentation(&'static str);

impl LayerSpec for Augmentation {
    fn class(&self) -> &'static str {
        self.0
    }

    fn untrained(&self) -> &'static str {
        "augments its input in training (Keras's `training=True`), which nn does not implement"
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        // Keras's `_is_batched` takes a batch of images, (batch, height, width, channels).
        if input.rank() != 3 {
            return Err(format!(
                "takes images (height, width, channels), but its input is {}",
                input.keras()
            ));
        }
        Ok(input.clone())
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let (ty, x) = (format_ident!("{}", self.0), input.ty(t));
        quote!(::nn::layers::#ty<#x>)
    }

    fn is_view(&self) -> bool {
        true
    }
}
