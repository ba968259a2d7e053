//! Code generation for a checked model. Nothing here validates: `check` and `graph` already did.

use crate::ast::ItemHeader;
use crate::catalog::Holder;
use crate::ir::{Class, Model, Scalar, Value};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};

/// The expression form: a block declaring a hidden `f32` model type and returning a
/// Keras-initialised value of it (seed 0).
pub fn expression(model: &Model) -> TokenStream {
    let ident = format_ident!("__Nn{}", model.class.name());
    let name = model.class.name().to_ascii_lowercase();
    let item = model_type(model, &ident, &name, &[], &quote!(), &quote!(pub));
    quote! {{
        #item
        <#ident as ::nn::Model>::seeded(0)
    }}
}

/// The item form: a named, documented model type.
pub fn item(model: &Model, header: &ItemHeader) -> TokenStream {
    let vis = &header.vis;
    let name = snake_case(&header.ident.to_string());
    model_type(model, &header.ident, &name, &header.attrs, &quote!(#vis), &quote!(#vis))
}

/// A layer field of the model struct.
struct Field {
    name: syn::Ident,
    ty: TokenStream,
    /// Whether the field is a whole model (called through `Model`) rather than a `Layer`.
    nested: bool,
    /// Whether a `const fn` can read the field's weights: a layer, or a model type named without
    /// generic arguments (a concrete model from the macros).
    const_readable: bool,
}

fn model_type(
    model: &Model,
    ident: &syn::Ident,
    name: &str,
    attrs: &[syn::Attribute],
    vis: &TokenStream,
    field_vis: &TokenStream,
) -> TokenStream {
    // `generics` declares the type parameter, if any; `t` names the element type.
    let (generics, ty_args, t) = match &model.scalar {
        Scalar::Concrete(t) => (quote!(), quote!(), quote!(#t)),
        Scalar::Generic(t) => (quote!(<#t: ::nn::Float>), quote!(<#t>), quote!(#t)),
    };
    let vector = |n: usize| quote!(::nn::nalgebra::SVector<#t, #n>);

    let mut fields = Vec::new();
    let mut field_of = Vec::new();
    let mut infos = Vec::new();
    let mut configure = Vec::new();
    for layer in &model.layers {
        let layer_name = layer.name.to_string();
        let (class, params) = match layer.spec.holder(layer.input, &t) {
            Holder::Nothing => {
                field_of.push(None);
                let class = layer.spec.class();
                (quote!(#class), quote!(0))
            }
            Holder::Layer(ty) => {
                field_of.push(Some(fields.len()));
                let info = (quote!(<#ty as ::nn::Layer>::CLASS), quote!(<#ty as ::nn::Layer>::PARAMS));
                fields.push(Field { name: layer.name.clone(), ty, nested: false, const_readable: true });
                info
            }
            Holder::Model(ty) => {
                field_of.push(Some(fields.len()));
                let info = (quote!(<#ty as ::nn::Model>::CLASS), quote!(<#ty as ::nn::Model>::PARAMS));
                let concrete = !ty.to_string().contains('<');
                fields.push(Field { name: layer.name.clone(), ty, nested: true, const_readable: concrete });
                info
            }
        };
        let output = layer.output;
        let inbound = &layer.inbound;
        infos.push(quote! {
            ::nn::LayerInfo {
                name: #layer_name,
                class: #class,
                output_shape: &[#output],
                params: #params,
                inbound: &[#(#inbound),*],
            }
        });
        let field = &layer.name;
        if let Some(value) = layer.spec.activation_value() {
            configure.push(quote!(self.#field.activation = #value;));
        } else if matches!(layer.spec.holder(layer.input, &t), Holder::Model(_)) {
            configure.push(quote!(self.#field.__nn_configure();));
        }
    }

    // The forward pass: the model's inputs by reference, then each step into its own local.
    let arg = |v: &Value| match v {
        Value::Input(i) => format_ident!("input{i}"),
        Value::Step(i) => format_ident!("x{}", i + 1),
    };
    let reference = |v: &Value| {
        let local = arg(v);
        match v {
            Value::Input(_) => quote!(#local),
            Value::Step(_) => quote!(&#local),
        }
    };
    let bind_inputs = match model.inputs.len() {
        1 => quote!(let input0 = x;),
        n => {
            let (locals, index): (Vec<_>, Vec<_>) =
                (0..n).map(|i| (format_ident!("input{i}"), syn::Index::from(i))).unzip();
            quote!(#(let #locals = &x.#index;)*)
        }
    };
    let mut steps = Vec::new();
    for (i, step) in model.steps.iter().enumerate() {
        let local = format_ident!("x{}", i + 1);
        let args: Vec<TokenStream> = step.args.iter().map(reference).collect();
        let out_ty = vector(step.output);
        let layer = &model.layers[step.layer];
        let call = match field_of[step.layer].map(|f| &fields[f]) {
            None => layer.spec.merge_call(&args, step.output).unwrap_or_else(|| quote!(*#(#args)*)),
            Some(Field { name, nested: false, .. }) => {
                quote!(::nn::Layer::forward_at(&self.#name, level, #(#args),*))
            }
            Some(Field { name, nested: true, .. }) => {
                // The macro takes a nested model's sizes on trust; rustc checks them against
                // its type, and its error should point at the sizes the user wrote.
                let site = proc_macro2::Span::call_site();
                let (input_span, output_span) = layer.spec.size_spans().unwrap_or((site, site));
                let args = args.iter().map(|a| respan(a.clone(), input_span));
                let predict = respan(quote!(::nn::Model::run), output_span);
                steps.push(
                    quote_spanned!(output_span=> let #local: #out_ty = #predict(&self.#name, level, #(#args),*);),
                );
                continue;
            }
        };
        steps.push(quote!(let #local: #out_ty = #call;));
    }
    let result: Vec<TokenStream> = model
        .outputs
        .iter()
        .map(|v| match v {
            Value::Input(_) => {
                let local = arg(v);
                quote!(*#local)
            }
            Value::Step(_) => {
                let local = arg(v);
                quote!(#local)
            }
        })
        .collect();
    let result = match result.as_slice() {
        [one] => quote!(#one),
        many => quote!((#(#many),*)),
    };
    let tuple = |sizes: Vec<usize>| match sizes.as_slice() {
        [one] => vector(*one),
        many => {
            let many = many.iter().map(|n| vector(*n));
            quote!((#(#many),*))
        }
    };
    let input_ty = tuple(model.inputs.clone());
    let output_ty = tuple(model.steps_output_sizes());
    let input_shapes = &model.inputs;
    let output_shapes = model.steps_output_sizes();

    let field_names: Vec<_> = fields.iter().map(|f| &f.name).collect();
    let field_types: Vec<_> = fields.iter().map(|f| &f.ty).collect();
    let field_docs = fields.iter().map(|f| format!("Layer `{}`.", f.name));
    let visit: Vec<TokenStream> = fields
        .iter()
        .map(|f| {
            let (name, label) = (&f.name, f.name.to_string());
            if f.nested {
                quote!(::nn::Model::visit_weights(&self.#name, &mut |layer, w| f(layer, w));)
            } else {
                quote!(::nn::Layer::visit_weights(&self.#name, &mut |w| f(#label, w));)
            }
        })
        .collect();
    let visit_mut: Vec<TokenStream> = fields
        .iter()
        .map(|f| {
            let (name, label) = (&f.name, f.name.to_string());
            if f.nested {
                quote!(::nn::Model::visit_weights_mut(&mut self.#name, &mut |layer, w| f(layer, w));)
            } else {
                quote!(::nn::Layer::visit_weights_mut(&mut self.#name, &mut |w| f(#label, w));)
            }
        })
        .collect();
    let init: Vec<TokenStream> = fields
        .iter()
        .map(|f| {
            let name = &f.name;
            if f.nested {
                quote!(::nn::Model::init_keras(&mut self.#name, rng.next_u64());)
            } else {
                quote!(::nn::Layer::init_keras(&mut self.#name, &mut rng);)
            }
        })
        .collect();
    let params = fields.iter().map(|f| {
        let ty = &f.ty;
        if f.nested { quote!(<#ty as ::nn::Model>::PARAMS) } else { quote!(<#ty as ::nn::Layer>::PARAMS) }
    });
    let macro_name = match model.class {
        Class::Sequential => "sequential!",
        Class::Functional => "functional!",
    };
    let architecture = format!(
        "Generated by `{macro_name}`: {} layers, inputs of {:?} features, outputs of {:?}.",
        model.layers.len(),
        model.inputs,
        model.steps_output_sizes()
    );
    let class = model.class.name();
    let chain = model.chain;
    let from_bytes = from_bytes(model, &fields, ident);
    let run_batch = batch_body(model, &fields, &field_of, &t);

    quote! {
        #(#attrs)*
        #[doc = ""]
        #[doc = #architecture]
        #[derive(Clone, Debug, PartialEq)]
        #vis struct #ident #generics {
            #(
                #[doc = #field_docs]
                #field_vis #field_names: #field_types,
            )*
        }

        impl #generics #ident #ty_args {
            /// The model with every weight zero. Being a constant, it can initialise a `static`
            /// of any size without touching the stack.
            pub const ZEROS: Self = {
                let mut model = Self { #( #field_names: <#field_types>::ZEROS, )* };
                model.__nn_configure();
                model
            };

            /// The model from its layers, in order. Activation options come from the model's
            /// definition, whatever the layers were built with.
            #[allow(clippy::too_many_arguments)]
            pub const fn from_layers(#( #field_names: #field_types ),*) -> Self {
                let mut model = Self { #( #field_names, )* };
                model.__nn_configure();
                model
            }

            #[doc(hidden)]
            pub const fn __nn_configure(&mut self) {
                #( #configure )*
            }
        }

        #from_bytes

        impl #generics ::nn::Model for #ident #ty_args {
            type Scalar = #t;
            type Input = #input_ty;
            type Output = #output_ty;
            const NAME: &'static str = #name;
            const CLASS: &'static str = #class;
            const INPUT_SHAPES: &'static [&'static [usize]] = &[#(&[#input_shapes]),*];
            const OUTPUT_SHAPES: &'static [&'static [usize]] = &[#(&[#output_shapes]),*];
            const PARAMS: usize = 0 #( + #params )*;
            const LAYERS: &'static [::nn::LayerInfo] = &[#(#infos),*];
            const SUMMARY_CONNECTIONS: bool = !#chain;

            #[inline(always)]
            fn run(&self, level: ::nn::kernels::cpu::Level, x: &Self::Input) -> Self::Output {
                // A graph of merges alone has no layer to pass the level to.
                let _ = level;
                #bind_inputs
                #( #steps )*
                #result
            }

            #[inline(always)]
            fn run_batch(&self, level: ::nn::kernels::cpu::Level, xs: &[Self::Input], ys: &mut [Self::Output]) {
                #run_batch
            }

            fn zeros() -> Self {
                Self::ZEROS
            }

            fn configure(&mut self) {
                self.__nn_configure();
            }

            #[allow(unused_mut, unused_variables)]
            fn init_keras(&mut self, seed: u64) {
                let mut rng = ::nn::init::Rng::new(seed);
                #( #init )*
            }

            #[allow(unused_variables)]
            fn visit_weights(&self, f: &mut dyn FnMut(&'static str, ::nn::WeightRef<'_, #t>)) {
                #( #visit )*
            }

            #[allow(unused_variables)]
            fn visit_weights_mut(&mut self, f: &mut dyn FnMut(&'static str, ::nn::WeightMut<'_, #t>)) {
                #( #visit_mut )*
            }
        }

        // SAFETY: every field is a layer or model that is itself `Zeroable` (the bounds check
        // it), and `configure` restores the activation options zeroing loses.
        unsafe impl #generics ::nn::Zeroable for #ident #ty_args where #( #field_types: ::nn::Zeroable ),* {}
    }
}

/// `const fn from_bytes` for a model over `f32` or `f64` (a `const fn` cannot be generic over
/// the element type's arithmetic), reading the raw format of `nn::weights::bytes`.
fn from_bytes(model: &Model, fields: &[Field], ident: &syn::Ident) -> TokenStream {
    let Scalar::Concrete(t) = &model.scalar else { return quote!() };
    if !fields.iter().all(|f| f.const_readable) {
        return quote!();
    }
    let width: usize = if t == "f64" { 8 } else { 4 };
    let reads = fields.iter().map(|f| {
        let name = &f.name;
        if f.nested {
            quote!(let at = self.#name.__nn_read_le_bytes(bytes, at);)
        } else {
            quote!(let at = self.#name.read_le_bytes(bytes, at);)
        }
    });
    quote! {
        impl #ident {
            /// The model with its weights read from bytes in the raw format of
            /// `nn::weights::bytes` (as `Model::to_bytes` writes them), in a `const` context:
            /// `static MODEL: Model = Model::from_bytes(include_bytes!("model.nnw"));` puts the
            /// weights in the binary with nothing parsed at run time. Bytes that do not fit the
            /// model stop compilation (or panic, called at run time: use `Model::load_bytes`).
            pub const fn from_bytes(bytes: &[u8]) -> Self {
                let mut model = Self::ZEROS;
                let at = ::nn::weights::bytes::expect(bytes, <Self as ::nn::Model>::PARAMS, #width);
                model.__nn_read_le_bytes(bytes, at);
                model
            }

            #[doc(hidden)]
            pub const fn __nn_read_le_bytes(&mut self, bytes: &[u8], at: usize) -> usize {
                #( #reads )*
                at
            }
        }
    }
}

/// The body of `run_batch`. The batch runs in chunks, step by step: each step's values for the
/// whole chunk sit in a stack buffer, so each Dense layer is one matrix product
/// (`Layer::forward_batch`) and each merge one loop over the chunk. The first step reads a
/// single input straight from `xs`, and the last writes straight into `ys` when it is the one
/// output and nothing else reads it (a chain of layers copies nothing). A graph with a nested
/// model runs sample by sample instead: the nested model's sizes are then checked (and
/// reported) once, in `run`.
fn batch_body(model: &Model, fields: &[Field], field_of: &[Option<usize>], t: &TokenStream) -> TokenStream {
    let nested = model.steps.iter().any(|step| field_of[step.layer].is_some_and(|f| fields[f].nested));
    let Some(last) = model.steps.len().checked_sub(1).filter(|_| !nested) else {
        return quote! {
            for (x, y) in xs.iter().zip(ys.iter_mut()) {
                *y = ::nn::Model::run(self, level, x);
            }
        };
    };
    let single_input = model.inputs.len() == 1;
    let direct = model.outputs == [Value::Step(last)]
        && !model.steps.iter().any(|step| step.args.contains(&Value::Step(last)));

    // Buffers: the gathered inputs of a several-input model, then every step's output but a
    // direct last one. Together they stay within 64 KiB of f32 (at most 64 samples).
    let mut buffers: Vec<(proc_macro2::Ident, usize)> = Vec::new();
    if !single_input {
        buffers.extend(model.inputs.iter().enumerate().map(|(i, n)| (format_ident!("i{i}"), *n)));
    }
    let steps_buffered = if direct { last } else { last + 1 };
    buffers.extend(
        model.steps[..steps_buffered].iter().enumerate().map(|(k, s)| (format_ident!("b{k}"), s.output)),
    );
    let chunk = (65_536 / (4 * buffers.iter().map(|(_, n)| n).sum::<usize>().max(1))).clamp(1, 64);
    let declare = buffers.iter().map(|(b, n)| {
        quote!(let mut #b = ::nn::kernels::Aligned(
            [::nn::nalgebra::SVector::<#t, #n>::from_array_storage(
                ::nn::nalgebra::ArrayStorage([[<#t as ::nn::Float>::ZERO; #n]; 1])
            ); CHUNK]
        );)
    });
    let gather = (!single_input).then(|| {
        let (locals, index): (Vec<_>, Vec<_>) =
            (0..model.inputs.len()).map(|i| (format_ident!("i{i}"), syn::Index::from(i))).unzip();
        quote!(for (s, x) in xs[..n].iter().enumerate() { #( #locals.0[s] = x.#index; )* })
    });

    // A value over the chunk, and at sample `s`.
    let slice = |v: &Value| match v {
        Value::Input(_) if single_input => quote!(&xs[..n]),
        Value::Input(i) => {
            let b = format_ident!("i{i}");
            quote!(&#b.0[..n])
        }
        Value::Step(k) => {
            let b = format_ident!("b{k}");
            quote!(&#b.0[..n])
        }
    };
    let at = |v: &Value| match v {
        Value::Input(_) if single_input => quote!(&xs[s]),
        Value::Input(i) => {
            let b = format_ident!("i{i}");
            quote!(&#b.0[s])
        }
        Value::Step(k) => {
            let b = format_ident!("b{k}");
            quote!(&#b.0[s])
        }
    };
    let calls = model.steps.iter().enumerate().map(|(k, step)| {
        let b = format_ident!("b{k}");
        let output = if direct && k == last { quote!(&mut ys[..n]) } else { quote!(&mut #b.0[..n]) };
        let layer = &model.layers[step.layer];
        match field_of[step.layer].map(|f| &fields[f].name) {
            Some(name) => {
                let input = slice(&step.args[0]);
                quote!(::nn::Layer::forward_batch(&self.#name, level, #input, #output);)
            }
            None => match layer.spec.merge_call(&step.args.iter().map(at).collect::<Vec<_>>(), step.output) {
                Some(merge) => {
                    let target = if direct && k == last { quote!(ys[s]) } else { quote!(#b.0[s]) };
                    quote!(for s in 0..n { #target = #merge; })
                }
                None => {
                    let input = slice(&step.args[0]);
                    quote!((#output).copy_from_slice(#input);)
                }
            },
        }
    });
    let scatter = (!direct).then(|| match model.outputs.as_slice() {
        [one] => {
            let one = slice(one);
            quote!(ys[..n].copy_from_slice(#one);)
        }
        many => {
            let many = many.iter().map(at);
            quote!(for (s, y) in ys[..n].iter_mut().enumerate() { *y = (#( *#many ),*); })
        }
    });
    quote! {
        // A graph of merges alone has no layer to pass the level to.
        let _ = level;
        const CHUNK: usize = #chunk;
        #( #declare )*
        for (xs, ys) in xs.chunks(CHUNK).zip(ys.chunks_mut(CHUNK)) {
            let n = xs.len().min(ys.len());
            #gather
            #( #calls )*
            #scatter
        }
    }
}

impl Model {
    /// Feature counts of `predict`'s outputs, in order.
    fn steps_output_sizes(&self) -> Vec<usize> {
        self.outputs
            .iter()
            .map(|v| match v {
                Value::Input(i) => self.inputs[*i],
                Value::Step(i) => self.steps[*i].output,
            })
            .collect()
    }
}

/// `tokens` with every token (groups included) moved to `span`, so rustc's errors on them point
/// at the user's tokens.
fn respan(tokens: TokenStream, span: proc_macro2::Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let proc_macro2::TokenTree::Group(group) = &token {
                let mut inner = proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                token = proc_macro2::TokenTree::Group(inner);
            }
            token.set_span(span);
            token
        })
        .collect()
}

/// `XorNet` → `xor_net`, Keras's naming style for the summary.
fn snake_case(ident: &str) -> String {
    let mut out = String::new();
    for (i, c) in ident.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}
