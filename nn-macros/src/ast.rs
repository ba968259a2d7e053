//! Tokens to a model AST. Only syntax is checked here; meaning is checked in `check`.

use proc_macro2::Span;
use std::fmt;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Attribute, Ident, Token, Visibility, braced, parenthesized};

/// A whole `sequential!` invocation.
pub struct ModelDef {
    /// `Some` for the item form `pub struct Name { ... }`, `None` for the expression form.
    pub item: Option<ItemHeader>,
    pub layers: Vec<LayerCall>,
    /// Where to point when the model as a whole is wrong (it is empty).
    pub span: Span,
}

pub struct ItemHeader {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub ident: Ident,
    /// The element type in `struct Name<f64>`, or a type parameter in `struct Name<T>`.
    pub scalar: Option<Ident>,
}

/// One layer: `label: Kind<args>`, label and arguments optional.
pub struct LayerCall {
    pub label: Option<Ident>,
    pub kind: Ident,
    pub args: Vec<Arg>,
}

/// One argument between `<` and `>`, or inside an activation's parentheses.
pub enum Arg {
    Number(Number),
    Bool(syn::LitBool),
    /// A bare name: an activation (`relu`).
    Name(Ident),
    /// A name with options: `leaky_relu(0.1)`.
    Call {
        name: Ident,
        args: Vec<Arg>,
    },
    /// `option = value`.
    Named {
        name: Ident,
        value: Box<Arg>,
    },
}

pub struct Number {
    pub span: Span,
    pub value: f64,
    /// The value if it is written as a non-negative integer.
    pub integer: Option<u64>,
    text: String,
}

impl Parse for ModelDef {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let span = input.span();
        let fork = input.fork();
        fork.call(Attribute::parse_outer)?;
        fork.parse::<Visibility>()?;
        if !fork.peek(Token![struct]) {
            let layers = Punctuated::<LayerCall, Token![,]>::parse_terminated(input)?;
            return Ok(ModelDef {
                item: None,
                layers: layers.into_iter().collect(),
                span,
            });
        }
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        input.parse::<Token![struct]>()?;
        let ident: Ident = input.parse()?;
        let scalar = if input.peek(Token![<]) {
            input.parse::<Token![<]>()?;
            let scalar = input.parse()?;
            input.parse::<Token![>]>()?;
            Some(scalar)
        } else {
            None
        };
        let body;
        let brace = braced!(body in input);
        let layers = Punctuated::<LayerCall, Token![,]>::parse_terminated(&body)?;
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the model's `{ ... }`"));
        }
        Ok(ModelDef {
            item: Some(ItemHeader {
                attrs,
                vis,
                ident,
                scalar,
            }),
            layers: layers.into_iter().collect(),
            span: brace.span.join(),
        })
    }
}

impl Parse for LayerCall {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let label = if input.peek(Ident) && input.peek2(Token![:]) && !input.peek2(Token![::]) {
            let label = input.parse()?;
            input.parse::<Token![:]>()?;
            Some(label)
        } else {
            None
        };
        let kind: Ident = input.call(Ident::parse_any).map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected a layer, such as `Input<2>` or `Dense<8, relu>`",
            )
        })?;
        let mut args = Vec::new();
        if input.peek(Token![<]) {
            input.parse::<Token![<]>()?;
            while !input.peek(Token![>]) {
                args.push(input.parse()?);
                if input.peek(Token![>]) {
                    break;
                }
                input.parse::<Token![,]>()?;
            }
            input.parse::<Token![>]>()?;
        }
        Ok(LayerCall { label, kind, args })
    }
}

impl Parse for Arg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(Token![-]) || input.peek(syn::LitInt) || input.peek(syn::LitFloat) {
            return input.parse().map(Arg::Number);
        }
        if input.peek(syn::LitBool) {
            return input.parse().map(Arg::Bool);
        }
        if input.peek(Ident::peek_any) {
            let name = input.call(Ident::parse_any)?;
            if input.peek(syn::token::Paren) {
                let content;
                parenthesized!(content in input);
                let args = Punctuated::<Arg, Token![,]>::parse_terminated(&content)?;
                return Ok(Arg::Call {
                    name,
                    args: args.into_iter().collect(),
                });
            }
            if input.peek(Token![=]) && !input.peek(Token![==]) {
                input.parse::<Token![=]>()?;
                return Ok(Arg::Named {
                    name,
                    value: Box::new(input.parse()?),
                });
            }
            return Ok(Arg::Name(name));
        }
        Err(input.error("expected a size, an activation or `option = value`"))
    }
}

impl Parse for Number {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let minus = input.parse::<Option<Token![-]>>()?;
        let (span, value, integer, digits) = if input.peek(syn::LitInt) {
            let lit: syn::LitInt = input.parse()?;
            let n: u64 = lit.base10_parse()?;
            (
                lit.span(),
                n as f64,
                Some(n),
                lit.base10_digits().to_string(),
            )
        } else {
            let lit: syn::LitFloat = input.parse()?;
            (
                lit.span(),
                lit.base10_parse::<f64>()?,
                None,
                lit.base10_digits().to_string(),
            )
        };
        let span = minus
            .as_ref()
            .map_or(span, |m| m.span.join(span).unwrap_or(span));
        Ok(match minus {
            Some(_) => Number {
                span,
                value: -value,
                integer: None,
                text: format!("-{digits}"),
            },
            None => Number {
                span,
                value,
                integer,
                text: digits,
            },
        })
    }
}

impl Arg {
    pub fn span(&self) -> Span {
        match self {
            Arg::Number(n) => n.span,
            Arg::Bool(b) => b.span,
            Arg::Name(name) | Arg::Call { name, .. } | Arg::Named { name, .. } => name.span(),
        }
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Number(n) => f.write_str(&n.text),
            Arg::Bool(b) => write!(f, "{}", b.value),
            Arg::Name(name) => write!(f, "{name}"),
            Arg::Call { name, args } => write!(f, "{name}({})", List(args)),
            Arg::Named { name, value } => write!(f, "{name} = {value}"),
        }
    }
}

impl fmt::Display for LayerCall {
    /// The layer as the user wrote it, normalised: `Dense<3, 4>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        if !self.args.is_empty() {
            write!(f, "<{}>", List(&self.args))?;
        }
        Ok(())
    }
}

struct List<'a>(&'a [Arg]);

impl fmt::Display for List<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, arg) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{arg}")?;
        }
        Ok(())
    }
}
