//! Options given positionally or as `name = value`, for layers and activations alike.

use crate::ast::Arg;
use crate::ctxt::Ctxt;
use crate::spelling;
use proc_macro2::Span;

/// What an option accepts.
#[derive(Clone, Copy)]
pub enum Kind {
    Number,
    Bool,
}

/// One option an owner accepts.
pub struct Opt {
    pub name: &'static str,
    pub kind: Kind,
}

/// A value given for an option.
#[derive(Clone, Copy)]
pub enum Value {
    Number(f64),
    Bool(bool),
}

impl Value {
    pub fn number(self) -> f64 {
        match self {
            Value::Number(n) => n,
            Value::Bool(b) => f64::from(u8::from(b)),
        }
    }

    pub fn bool(self) -> bool {
        matches!(self, Value::Bool(true))
    }
}

/// Matches `args` against `opts` (positional first, then named) for `owner` (`leaky_relu`,
/// `Dense`). Returns one slot per option, `None` where it was not given; every mistake is
/// recorded in `cx` and the offending argument skipped.
pub fn resolve(owner: &str, args: &[&Arg], opts: &[Opt], cx: &mut Ctxt) -> Vec<Option<(Value, Span)>> {
    let mut slots: Vec<Option<(Value, Span)>> = vec![None; opts.len()];
    let mut position = 0;
    for arg in args {
        let (index, value) = match arg {
            Arg::Named { name, value } => {
                let key = name.to_string();
                match opts.iter().position(|o| o.name == key) {
                    Some(i) => (i, &**value),
                    None => {
                        let names: Vec<&str> = opts.iter().map(|o| o.name).collect();
                        let hint = if names.is_empty() {
                            format!("`{owner}` takes no options")
                        } else {
                            spelling::hint(&key, &names)
                        };
                        cx.error(name.span(), format!("unknown option `{key}` for `{owner}`; {hint}"));
                        continue;
                    }
                }
            }
            positional => {
                if position >= opts.len() {
                    let expected = match opts.len() {
                        0 => format!("`{owner}` takes no options"),
                        n => format!("`{owner}` takes at most {n} ({})", names(opts)),
                    };
                    cx.error(positional.span(), format!("unexpected argument `{positional}`: {expected}"));
                    continue;
                }
                position += 1;
                (position - 1, *positional)
            }
        };
        let opt = &opts[index];
        if slots[index].is_some() {
            cx.error(arg.span(), format!("option `{}` of `{owner}` is given twice", opt.name));
            continue;
        }
        let parsed = match (opt.kind, value) {
            (Kind::Number, Arg::Number(n)) => Some(Value::Number(n.value)),
            (Kind::Bool, Arg::Bool(b)) => Some(Value::Bool(b.value)),
            (Kind::Number, other) => {
                cx.error(
                    other.span(),
                    format!("option `{}` of `{owner}` takes a number, found `{other}`", opt.name),
                );
                None
            }
            (Kind::Bool, other) => {
                cx.error(
                    other.span(),
                    format!("option `{}` of `{owner}` takes `true` or `false`, found `{other}`", opt.name),
                );
                None
            }
        };
        slots[index] = parsed.map(|v| (v, value.span()));
    }
    slots
}

fn names(opts: &[Opt]) -> String {
    opts.iter().map(|o| o.name).collect::<Vec<_>>().join(", ")
}
