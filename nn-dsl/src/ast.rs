//! Tokens to a model AST. Only syntax is checked here; meaning is checked in `check`.

use proc_macro2::Span;
use std::fmt;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseBuffer, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Attribute, Ident, Token, Visibility, braced, parenthesized};

/// A whole `sequential!` invocation.
#[derive(Clone)]
pub struct ModelDef {
    /// `Some` for the item form `pub struct Name { ... }`, `None` for the expression form.
    pub item: Option<ItemHeader>,
    pub layers: Vec<LayerCall>,
    /// Where to point when the model as a whole is wrong (it is empty).
    pub span: Span,
}

#[derive(Clone)]
pub struct ItemHeader {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub ident: Ident,
    /// The element type in `struct Name<f64>`, or a type parameter in `struct Name<T>`.
    pub scalar: Option<Ident>,
}

/// One layer: `label: Kind<args>`, label and arguments optional.
#[derive(Clone)]
pub struct LayerCall {
    pub label: Option<Ident>,
    pub kind: Ident,
    /// The model type in `Model<Type, IN, OUT>`: a model used as a layer.
    pub model: Option<syn::Type>,
    pub args: Vec<Arg>,
}

/// One argument between `<` and `>`, or inside an activation's parentheses.
#[derive(Clone)]
pub enum Arg {
    Number(Number),
    Bool(syn::LitBool),
    /// A string: EinsumDense's `"abc,cde->abde"`.
    Str(syn::LitStr),
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
    /// `(5, 3)`: several values for one option, as Keras's tuples (`kernel_size=(5, 3)`).
    Tuple {
        span: Span,
        items: Vec<Arg>,
    },
    /// A layer with arguments, or labelled, as a wrapper's argument: `GRU<8>`, `enc: GRU<8>`.
    Layer(Box<LayerCall>),
}

#[derive(Clone)]
pub struct Number {
    pub span: Span,
    pub value: f64,
    /// The value if it is written as a non-negative integer.
    pub integer: Option<u64>,
    text: String,
}

/// Reads `attrs vis struct Name<scalar> { body }` when the input is in item form (returning the
/// header, the body's tokens and the braces' span), or `None` with `input` untouched.
fn item_header<'a>(input: ParseStream<'a>) -> syn::Result<Option<(ItemHeader, ParseBuffer<'a>, Span)>> {
    let fork = input.fork();
    fork.call(Attribute::parse_outer)?;
    fork.parse::<Visibility>()?;
    if !fork.peek(Token![struct]) {
        return Ok(None);
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
    if !input.is_empty() {
        return Err(input.error("unexpected tokens after the model's `{ ... }`"));
    }
    Ok(Some((ItemHeader { attrs, vis, ident, scalar }, body, brace.span.join())))
}

impl Parse for ModelDef {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let span = input.span();
        let (item, layers, span) = match item_header(input)? {
            Some((header, body, span)) => {
                (Some(header), Punctuated::<LayerCall, Token![,]>::parse_terminated(&body)?, span)
            }
            None => (None, Punctuated::<LayerCall, Token![,]>::parse_terminated(input)?, span),
        };
        Ok(ModelDef { item, layers: layers.into_iter().collect(), span })
    }
}

/// A whole `functional!` invocation.
#[derive(Clone)]
pub struct GraphDef {
    pub item: Option<ItemHeader>,
    pub stmts: Vec<Stmt>,
    /// `-> out;` or `-> (a, b);`, if given.
    pub outputs: Option<Vec<Ident>>,
    pub span: Span,
}

/// `name = Layer<args>(inputs);`, or `name = Layer<args>;` binding a layer to call later; or
/// `(name, h, c) = LSTM<args>(inputs);` binding a layer's further outputs too (`_` for one not
/// used).
#[derive(Clone)]
pub struct Stmt {
    pub name: Ident,
    /// The names of the outputs after the first, `None` for `_`.
    pub more: Vec<Option<Ident>>,
    pub call: LayerCall,
    /// The nodes the layer is called on; `None` for a binding without a call.
    pub inputs: Option<Vec<Ident>>,
}

impl Parse for GraphDef {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let span = input.span();
        let (item, body, span) = match item_header(input)? {
            Some((header, body, span)) => (Some(header), body, span),
            None => (None, input.fork(), span),
        };
        let body = if item.is_some() { &body } else { input };
        let (mut stmts, mut outputs) = (Vec::new(), None);
        while !body.is_empty() {
            if body.peek(Token![->]) {
                let arrow = body.parse::<Token![->]>()?;
                if outputs.is_some() {
                    return Err(syn::Error::new(arrow.spans[0], "the outputs are given twice"));
                }
                outputs = Some(if body.peek(syn::token::Paren) {
                    let content;
                    parenthesized!(content in body);
                    Punctuated::<Ident, Token![,]>::parse_terminated(&content)?.into_iter().collect()
                } else {
                    vec![body.parse()?]
                });
            } else {
                stmts.push(body.parse()?);
            }
            if !body.is_empty() {
                body.parse::<Token![;]>()?;
            }
        }
        Ok(GraphDef { item, stmts, outputs, span })
    }
}

/// One argument of a functional call: a node, or a mask given by name: `attention_mask = node`
/// (the multi-head attention layers') or `mask = node` (Softmax's).
enum CallInput {
    Node(Ident),
    Named(Ident, Ident),
}

impl Parse for CallInput {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let first: Ident = input.parse()?;
        if !input.peek(Token![=]) {
            return Ok(CallInput::Node(first));
        }
        if first != "attention_mask" && first != "mask" {
            return Err(syn::Error::new(
                first.span(),
                format!(
                    "unknown call argument `{first}`: a call takes its input nodes, the multi-head attention \
                     layers `attention_mask = node` and Softmax `mask = node`"
                ),
            ));
        }
        input.parse::<Token![=]>()?;
        Ok(CallInput::Named(first, input.parse()?))
    }
}

impl Parse for Stmt {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let (name, more) = if input.peek(syn::token::Paren) {
            let content;
            let paren = parenthesized!(content in input);
            let names = Punctuated::<Binder, Token![,]>::parse_terminated(&content)?;
            let mut names = names.into_iter().map(|b| b.0);
            let Some(Some(first)) = names.next() else {
                return Err(syn::Error::new(
                    paren.span.join(),
                    "the first output needs a name: `(y, h) = GRU<..>(x);`",
                ));
            };
            (first, names.collect())
        } else {
            (input.parse()?, Vec::new())
        };
        input.parse::<Token![=]>()?;
        let mut call: LayerCall = input.parse()?;
        let inputs = if input.peek(syn::token::Paren) {
            let content;
            parenthesized!(content in input);
            let items = Punctuated::<CallInput, Token![,]>::parse_terminated(&content)?;
            let mut inputs = Vec::new();
            let mut named: Option<(Ident, Ident)> = None;
            for item in items {
                match item {
                    CallInput::Node(node) if named.is_none() => inputs.push(node),
                    CallInput::Node(node) => {
                        return Err(syn::Error::new(
                            node.span(),
                            "a node given by name comes after the inputs",
                        ));
                    }
                    CallInput::Named(name, _) if named.is_some() => {
                        return Err(syn::Error::new(
                            name.span(),
                            "one mask per call: `mask = ...` or `attention_mask = ...`",
                        ));
                    }
                    CallInput::Named(name, node) => named = Some((name, node)),
                }
            }
            // Keras's `attention_mask` (the multi-head layers') and `mask` (Softmax's) call
            // arguments: the layer's last input (after the key, the value again without one,
            // for `attention_mask`), with the option of that name saying so.
            if let Some((name, node)) = named {
                if name == "attention_mask" && inputs.len() == 2 {
                    inputs.push(inputs[1].clone());
                }
                inputs.push(node);
                let yes = Arg::Bool(syn::LitBool::new(true, name.span()));
                call.args.push(Arg::Named { name, value: Box::new(yes) });
            }
            Some(inputs)
        } else {
            None
        };
        Ok(Stmt { name, more, call, inputs })
    }
}

/// A name in `(y, h) = ...`, or `_`.
struct Binder(Option<Ident>);

impl Parse for Binder {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(Token![_]) {
            input.parse::<Token![_]>()?;
            return Ok(Binder(None));
        }
        input.parse().map(|name| Binder(Some(name)))
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
            syn::Error::new(e.span(), "expected a layer, such as `Input<2>` or `Dense<8, relu>`")
        })?;
        let (mut args, mut model) = (Vec::new(), None);
        if input.peek(Token![<]) {
            input.parse::<Token![<]>()?;
            if kind == "Model" {
                model = Some(input.parse()?);
                if !input.peek(Token![>]) {
                    input.parse::<Token![,]>()?;
                }
            }
            while !input.peek(Token![>]) {
                args.push(input.parse()?);
                if input.peek(Token![>]) {
                    break;
                }
                input.parse::<Token![,]>()?;
            }
            input.parse::<Token![>]>()?;
        }
        Ok(LayerCall { label, kind, model, args })
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
        if input.peek(syn::LitStr) {
            return input.parse().map(Arg::Str);
        }
        if input.peek(syn::token::Paren) {
            let content;
            let paren = parenthesized!(content in input);
            let items = Punctuated::<Arg, Token![,]>::parse_terminated(&content)?;
            return Ok(Arg::Tuple { span: paren.span.join(), items: items.into_iter().collect() });
        }
        let labelled = input.peek(Ident) && input.peek2(Token![:]) && !input.peek2(Token![::]);
        if labelled || (input.peek(Ident::peek_any) && input.peek2(Token![<])) {
            return input.parse().map(|call| Arg::Layer(Box::new(call)));
        }
        if input.peek(Ident::peek_any) {
            let name = input.call(Ident::parse_any)?;
            if input.peek(syn::token::Paren) {
                let content;
                parenthesized!(content in input);
                let args = Punctuated::<Arg, Token![,]>::parse_terminated(&content)?;
                return Ok(Arg::Call { name, args: args.into_iter().collect() });
            }
            if input.peek(Token![=]) && !input.peek(Token![==]) {
                input.parse::<Token![=]>()?;
                return Ok(Arg::Named { name, value: Box::new(input.parse()?) });
            }
            return Ok(Arg::Name(name));
        }
        Err(input.error("expected a size, a tuple of sizes, a string, an activation or `option = value`"))
    }
}

impl Parse for Number {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let minus = input.parse::<Option<Token![-]>>()?;
        let (span, value, integer, digits) = if input.peek(syn::LitInt) {
            let lit: syn::LitInt = input.parse()?;
            let n: u64 = lit.base10_parse()?;
            (lit.span(), n as f64, Some(n), lit.base10_digits().to_string())
        } else {
            let lit: syn::LitFloat = input.parse()?;
            (lit.span(), lit.base10_parse::<f64>()?, None, lit.base10_digits().to_string())
        };
        let span = minus.as_ref().map_or(span, |m| m.span.join(span).unwrap_or(span));
        Ok(match minus {
            Some(_) => Number { span, value: -value, integer: None, text: format!("-{digits}") },
            None => Number { span, value, integer, text: digits },
        })
    }
}

impl Number {
    /// A number made by the macros themselves (from a Keras config), shown as written.
    #[cfg(feature = "keras")]
    pub fn new(value: f64, span: Span) -> Number {
        let integer = (value >= 0.0 && value.fract() == 0.0 && value < 9.0e15).then_some(value as u64);
        Number { span, value, integer, text: format!("{value}") }
    }
}

impl LayerCall {
    /// Where option `name` was written (`sliding_window = 2`), or the layer's name if it was
    /// not (a default, or read from a Keras config).
    pub fn option_span(&self, name: &str) -> Span {
        self.args
            .iter()
            .find(|a| matches!(a, Arg::Named { name: n, .. } if n == name))
            .map_or_else(|| self.kind.span(), Arg::span)
    }
}

impl Arg {
    pub fn span(&self) -> Span {
        match self {
            Arg::Number(n) => n.span,
            Arg::Bool(b) => b.span,
            Arg::Str(s) => s.span(),
            Arg::Name(name) | Arg::Call { name, .. } | Arg::Named { name, .. } => name.span(),
            Arg::Tuple { span, .. } => *span,
            Arg::Layer(call) => call.kind.span(),
        }
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Number(n) => f.write_str(&n.text),
            Arg::Bool(b) => write!(f, "{}", b.value),
            Arg::Str(s) => write!(f, "{:?}", s.value()),
            Arg::Name(name) => write!(f, "{name}"),
            Arg::Call { name, args } => write!(f, "{name}({})", List(args)),
            Arg::Named { name, value } => write!(f, "{name} = {value}"),
            Arg::Tuple { items, .. } if items.len() == 1 => write!(f, "({},)", List(items)),
            Arg::Tuple { items, .. } => write!(f, "({})", List(items)),
            Arg::Layer(call) => write!(f, "{}", Labelled(call)),
        }
    }
}

impl fmt::Display for LayerCall {
    /// The layer as the user wrote it, normalised: `Dense<3, 4>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        match &self.model {
            Some(ty) if self.args.is_empty() => write!(f, "<{}>", quote::quote!(#ty)),
            Some(ty) => write!(f, "<{}, {}>", quote::quote!(#ty), List(&self.args)),
            None if self.args.is_empty() => Ok(()),
            None => write!(f, "<{}>", List(&self.args)),
        }
    }
}

/// A layer with its label, as a model's source writes it: `dense_1: Dense<4>`.
struct Labelled<'a>(&'a LayerCall);

impl fmt::Display for Labelled<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(label) = &self.0.label {
            write!(f, "{label}: ")?;
        }
        write!(f, "{}", self.0)
    }
}

/// `pub struct Name` (`Name<f64>`) opening a model's item form.
fn write_header(f: &mut fmt::Formatter<'_>, header: &ItemHeader) -> fmt::Result {
    for attr in &header.attrs {
        // A doc comment as one writes it; any other attribute as its tokens.
        match &attr.meta {
            syn::Meta::NameValue(doc) if doc.path.is_ident("doc") => match &doc.value {
                syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(text), .. }) => {
                    writeln!(f, "    /// {}", text.value().trim_start())?
                }
                _ => writeln!(f, "    {}", quote::quote!(#attr))?,
            },
            _ => writeln!(f, "    {}", quote::quote!(#attr))?,
        }
    }
    let vis = &header.vis;
    let vis = quote::quote!(#vis).to_string();
    let vis = if vis.is_empty() { String::new() } else { format!("{vis} ") };
    match &header.scalar {
        Some(t) => writeln!(f, "    {vis}struct {}<{t}> {{", header.ident),
        None => writeln!(f, "    {vis}struct {} {{", header.ident),
    }
}

impl fmt::Display for ModelDef {
    /// The model as `sequential!` source, in its item form when it has one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(header) = &self.item else {
            let layers: Vec<String> = self.layers.iter().map(|l| Labelled(l).to_string()).collect();
            return write!(f, "sequential![{}]", layers.join(", "));
        };
        writeln!(f, "sequential! {{")?;
        write_header(f, header)?;
        for layer in &self.layers {
            writeln!(f, "        {},", Labelled(layer))?;
        }
        writeln!(f, "    }}")?;
        writeln!(f, "}}")
    }
}

impl fmt::Display for Stmt {
    /// `name = label: Kind<args>(inputs)`, `(name, h, c) = ...`, or a binding without a call.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.more.is_empty() {
            write!(f, "{}", self.name)?;
        } else {
            let more: Vec<String> =
                self.more.iter().map(|m| m.as_ref().map_or("_".to_string(), Ident::to_string)).collect();
            write!(f, "({}, {})", self.name, more.join(", "))?;
        }
        write!(f, " = {}", Labelled(&self.call))?;
        if let Some(inputs) = &self.inputs {
            let inputs: Vec<String> = inputs.iter().map(Ident::to_string).collect();
            write!(f, "({})", inputs.join(", "))?;
        }
        Ok(())
    }
}

impl fmt::Display for GraphDef {
    /// The model as `functional!` source, in its item form when it has one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let indent = if self.item.is_some() { "        " } else { "    " };
        writeln!(f, "functional! {{")?;
        if let Some(header) = &self.item {
            write_header(f, header)?;
        }
        for stmt in &self.stmts {
            writeln!(f, "{indent}{stmt};")?;
        }
        match self.outputs.as_deref() {
            Some([one]) => writeln!(f, "{indent}-> {one};")?,
            Some(several) => {
                let names: Vec<String> = several.iter().map(Ident::to_string).collect();
                writeln!(f, "{indent}-> ({});", names.join(", "))?;
            }
            None => {}
        }
        if self.item.is_some() {
            writeln!(f, "    }}")?;
        }
        writeln!(f, "}}")
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
