//! The weight initializers the DSL knows: Keras's `keras.initializers` by the snake-case names
//! Keras itself accepts (`kernel_initializer="he_normal"`), their options, and the
//! `nn::init::Initializers` value a layer given some is initialized with.

use crate::ast::Arg;
use crate::ctxt::Ctxt;
use crate::options::{self, Kind, Opt};
use crate::spelling;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// One initializer: its DSL name, nn-core's `Initializer` variant, and its options with
/// Keras's defaults, in Keras's argument order (so they may be given positionally:
/// `constant(0.1)`).
struct Known {
    name: &'static str,
    variant: &'static str,
    options: &'static [(&'static str, f64)],
}

const fn known(name: &'static str, variant: &'static str, options: &'static [(&'static str, f64)]) -> Known {
    Known { name, variant, options }
}

const TABLE: &[Known] = &[
    known("glorot_uniform", "GlorotUniform", &[]),
    known("glorot_normal", "GlorotNormal", &[]),
    known("he_uniform", "HeUniform", &[]),
    known("he_normal", "HeNormal", &[]),
    known("lecun_uniform", "LecunUniform", &[]),
    known("lecun_normal", "LecunNormal", &[]),
    known("orthogonal", "Orthogonal", &[("gain", 1.0)]),
    known("zeros", "Zeros", &[]),
    known("ones", "Ones", &[]),
    known("constant", "Constant", &[("value", 0.0)]),
    known("random_normal", "RandomNormal", &[("mean", 0.0), ("stddev", 0.05)]),
    known("random_uniform", "RandomUniform", &[("minval", -0.05), ("maxval", 0.05)]),
    known("truncated_normal", "TruncatedNormal", &[("mean", 0.0), ("stddev", 0.05)]),
    // Keras's own aliases (`keras.initializers.get("uniform")`).
    known("zero", "Zeros", &[]),
    known("one", "Ones", &[]),
    known("normal", "RandomNormal", &[("mean", 0.0), ("stddev", 0.05)]),
    known("uniform", "RandomUniform", &[("minval", -0.05), ("maxval", 0.05)]),
];

/// Every name accepted, Keras's aliases included.
pub fn names() -> Vec<&'static str> {
    TABLE.iter().map(|k| k.name).collect()
}

/// The fields of nn-core's `Initializers`, each a layer argument `<field>_initializer`, with
/// Keras's default for it (nn-core's `Initializers::KERAS`), and whether the weights it fills
/// are vectors (which Keras's `orthogonal` refuses).
const FIELDS: &[(&str, &str, bool)] = &[
    ("kernel", "glorot_uniform", false),
    ("bias", "zeros", true),
    ("recurrent", "orthogonal", false),
    ("embeddings", "random_uniform", false),
    ("depthwise", "glorot_uniform", false),
    ("pointwise", "glorot_uniform", false),
    ("gamma", "ones", true),
    ("beta", "zeros", true),
    ("moving_mean", "zeros", true),
    ("moving_variance", "ones", true),
    ("alpha", "zeros", false),
];

/// A resolved initializer: nn-core's variant and its options, every one of them valued.
#[derive(Clone, Debug, PartialEq)]
pub struct Init {
    variant: &'static str,
    options: Vec<(&'static str, f64)>,
}

impl Init {
    /// `::nn::init::Initializer::Orthogonal { gain: 2f64 }`.
    fn tokens(&self) -> TokenStream {
        let variant = format_ident!("{}", self.variant);
        if self.options.is_empty() {
            return quote!(::nn::init::Initializer::#variant);
        }
        let (names, values): (Vec<_>, Vec<_>) =
            self.options.iter().map(|(n, v)| (format_ident!("{n}"), *v)).unzip();
        quote!(::nn::init::Initializer::#variant { #(#names: #values),* })
    }

    /// The initializer `name` with Keras's defaults.
    fn default_of(name: &str) -> Init {
        let k = TABLE.iter().find(|k| k.name == name).expect("a known initializer");
        Init { variant: k.variant, options: k.options.to_vec() }
    }
}

/// The initializers a layer was given, by `Initializers` field; those equal to Keras's default
/// are left out, so that a layer given only defaults (as every Keras config spells them out)
/// generates what a layer given none does.
#[derive(Clone, Default)]
pub struct Given(Vec<(&'static str, Init)>);

impl Given {
    /// Adds the initializer given for Keras argument `param` (`kernel_initializer`).
    ///
    /// # Panics
    /// If `param` is not `<field>_initializer` for a field of `Initializers`: a mistake in the
    /// catalog, caught by any test of the layer.
    pub fn add(&mut self, param: &'static str, init: Init) {
        let field = field_of(param).unwrap_or_else(|| panic!("no initializer field for `{param}`"));
        let (_, default, _) = FIELDS.iter().find(|(f, ..)| *f == field).expect("a field");
        if init != Init::default_of(default) {
            self.0.push((field, init));
        }
    }

    /// The expression of the layer's `::nn::init::Initializers`, Keras's defaults for every
    /// field not given; `None` when every one is Keras's default, for the layer's own
    /// `init_keras`.
    pub fn expr(&self) -> Option<TokenStream> {
        if self.0.is_empty() {
            return None;
        }
        let (fields, values): (Vec<_>, Vec<_>) =
            self.0.iter().map(|(f, init)| (format_ident!("{f}"), init.tokens())).unzip();
        Some(quote!(::nn::init::Initializers { #(#fields: #values,)* ..::nn::init::Initializers::KERAS }))
    }
}

/// The `Initializers` field of Keras argument `param`: `kernel` for `kernel_initializer`.
fn field_of(param: &str) -> Option<&'static str> {
    let field = param.strip_suffix("_initializer")?;
    FIELDS.iter().map(|(f, ..)| *f).find(|f| *f == field)
}

/// Reads the initializer given for Keras argument `param` of `owner` (`he_normal`,
/// `orthogonal(gain = 2.0)`, `constant(0.1)`).
pub fn resolve(owner: &str, param: &str, arg: &Arg, cx: &mut Ctxt) -> Option<Init> {
    let (name, args): (_, Vec<&Arg>) = match arg {
        Arg::Name(name) => (name, Vec::new()),
        Arg::Call { name, args } => (name, args.iter().collect()),
        other => {
            cx.error(
                other.span(),
                format!(
                    "option `{param}` of `{owner}` takes an initializer such as `he_normal`, found `{other}`"
                ),
            );
            return None;
        }
    };
    let key = name.to_string();
    let Some(known) = TABLE.iter().find(|k| k.name == key) else {
        // Keras's class names are accepted by Keras too; the DSL spells them as Keras's
        // snake-case names, so point there.
        let snake = crate::catalog::snake_case(&key);
        let hint = if TABLE.iter().any(|k| k.name == snake) {
            format!("write `{snake}`")
        } else {
            spelling::hint(&key, &names())
        };
        cx.error(name.span(), format!("unknown initializer `{key}`; {hint}"));
        return None;
    };
    let opts: Vec<Opt> = known.options.iter().map(|(name, _)| Opt { name, kind: Kind::Number }).collect();
    let values = options::resolve(known.name, &args, &opts, cx);
    if known.variant == "Orthogonal"
        && FIELDS.iter().any(|(f, _, vector)| *vector && field_of(param) == Some(f))
    {
        cx.error(
            name.span(),
            format!(
                "`orthogonal` needs a weight of rank 2 or more, and `{param}` of `{owner}` fills a vector \
                 (Keras refuses it too)"
            ),
        );
        return None;
    }
    let options = known
        .options
        .iter()
        .zip(values)
        .map(|((n, default), v)| (*n, v.map_or(*default, |(v, _)| v.number())));
    Some(Init { variant: known.variant, options: options.collect() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_default_is_a_known_initializer() {
        for (field, default, _) in FIELDS {
            assert!(TABLE.iter().any(|k| k.name == *default), "{field}");
        }
        assert_eq!(field_of("kernel_initializer"), Some("kernel"));
        assert_eq!(field_of("moving_variance_initializer"), Some("moving_variance"));
        assert_eq!(field_of("kernel"), None);
    }

    #[test]
    fn defaults_are_left_out() {
        let mut given = Given::default();
        given.add("kernel_initializer", Init::default_of("glorot_uniform"));
        given.add("bias_initializer", Init::default_of("zero"));
        assert!(given.expr().is_none());
        given.add("bias_initializer", Init::default_of("ones"));
        let expr = given.expr().unwrap().to_string();
        assert!(expr.contains("bias : :: nn :: init :: Initializer :: Ones"), "{expr}");
    }
}
