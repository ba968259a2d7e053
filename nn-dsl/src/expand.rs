//! Code generation for a checked model. Nothing here validates: `check` and `graph` already did.

use crate::ast::ItemHeader;
use crate::catalog::{Holder, Leaf, Spec};
use crate::ir::{Class, Model, Scalar, Value};
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote, quote_spanned};

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
    let stream = header.attrs.iter().any(|a| a.path().is_ident("stream"));
    let attrs: Vec<syn::Attribute> = header
        .attrs
        .iter()
        .filter(|a| !a.path().is_ident("stream") && !a.path().is_ident("compile"))
        .cloned()
        .collect();
    let mut tokens = model_type(model, &header.ident, &name, &attrs, &quote!(#vis), &quote!(#vis));
    if stream {
        tokens.extend(stream_items(model, &header.ident, &quote!(#vis)));
    }
    tokens
}

/// `#[stream]`: the state type `<Name>State`, one field per layer (what it keeps between steps,
/// `()` if nothing), and `step`, which runs one step of the sequence through every layer.
/// `check_stream` has made sure every layer can.
fn stream_items(model: &Model, ident: &syn::Ident, vis: &TokenStream) -> TokenStream {
    let (generics, ty_args, t) = match &model.scalar {
        Scalar::Concrete(t) => (quote!(), quote!(), quote!(#t)),
        Scalar::Generic(t) => (quote!(<#t: ::nn::Float>), quote!(<#t>), quote!(#t)),
    };
    let state = format_ident!("{ident}State");
    let (mut fields, mut types, mut zeros, mut calls) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut current = format_ident!("x0");
    for (k, step) in model.steps.iter().enumerate() {
        let layer = &model.layers[step.layer];
        let Ok(kept) = layer.spec.stream(&layer.input, &t) else { continue };
        let Some(ty) = kept else { continue };
        let name = &layer.name;
        let next = format_ident!("x{}", k + 1);
        let is_unit = ty.to_string() == "()";
        zeros.push(if is_unit { quote!(()) } else { quote!(<#ty>::ZEROS) });
        calls.push(
            quote!(let #next = ::nn::stream::Stream::step(&self.#name, level, &mut state.#name, &#current);),
        );
        fields.push(name.clone());
        types.push(ty);
        current = next;
    }
    let (f, o) = (model.inputs[0].last(), model.output_shapes()[0].last());
    let doc = format!(
        "What [`{ident}::step`] keeps between steps, one field per layer (`()` where a layer keeps nothing): \
         zeros before the first step, as Keras starts a sequence."
    );
    quote! {
        #[doc = #doc]
        #[derive(Clone, Copy, Debug, PartialEq)]
        #vis struct #state #generics {
            #( #[allow(missing_docs)] pub #fields: #types, )*
        }

        impl #generics ::nn::stream::StreamState for #state #ty_args {
            const ZEROS: Self = Self { #( #fields: #zeros, )* };
        }

        impl #generics #state #ty_args {
            /// The state before the first step.
            #vis const ZEROS: Self = <Self as ::nn::stream::StreamState>::ZEROS;

            /// Back to the state before the first step, for a new sequence.
            #vis fn reset(&mut self) {
                *self = Self::ZEROS;
            }
        }

        impl #generics ::nn::stream::Streaming for #ident #ty_args {
            type State = #state #ty_args;
            type StepIn = ::nn::nalgebra::SVector<#t, #f>;
            type StepOut = ::nn::nalgebra::SVector<#t, #o>;

            #[inline(always)]
            fn run_step(
                &self,
                level: ::nn::kernels::cpu::Level,
                state: &mut #state #ty_args,
                x: &::nn::nalgebra::SVector<#t, #f>,
            ) -> ::nn::nalgebra::SVector<#t, #o> {
                let x0 = *x;
                #( #calls )*
                #current
            }
        }

        impl #generics #ident #ty_args {
            /// Runs one step of a sequence through every layer, `x` being that step's features,
            /// and returns that step's output, carrying what the layers keep in `state`. Stepping
            /// through a sequence from `State::ZEROS` gives, step by step, what `predict` gives
            /// for the whole sequence (its last step, for a model that returns only that).
            /// Allocates nothing.
            #[inline]
            #vis fn step(
                &self,
                state: &mut #state #ty_args,
                x: &::nn::nalgebra::SVector<#t, #f>,
            ) -> ::nn::nalgebra::SVector<#t, #o> {
                ::nn::dispatch::step(self, state, x)
            }
        }
    }
}

/// A layer field of the model struct.
pub(crate) struct Field {
    pub(crate) name: syn::Ident,
    pub(crate) ty: TokenStream,
    /// Whether the field is a whole model (called through `Model`) rather than a `Layer`.
    pub(crate) nested: bool,
    /// Whether a `const fn` can read the field's weights: a layer, or a model type named without
    /// generic arguments (a concrete model from the macros).
    const_readable: bool,
    /// The layers in it holding weights: the layer itself, or a wrapper's sublayers.
    pub(crate) leaves: Vec<Leaf>,
}

impl Field {
    /// The expression of `leaf` from `self`: `self.bidirectional.forward`.
    fn place(&self, leaf: &Leaf) -> TokenStream {
        self.place_in(&quote!(self), leaf)
    }

    /// The expression of `leaf` from the model `model`: `grads.bidirectional.forward`.
    pub(crate) fn place_in(&self, model: &TokenStream, leaf: &Leaf) -> TokenStream {
        let name = &self.name;
        let path = leaf.path.iter().map(|p| format_ident!("{p}"));
        quote!(#model.#name #(.#path)*)
    }

    /// The name the model visits `leaf`'s weights under: the layer's, and below it the
    /// sublayer's Keras name (`bidirectional/forward_gru`).
    fn label(&self, leaf: &Leaf) -> String {
        if leaf.name.is_empty() { self.name.to_string() } else { format!("{}/{}", self.name, leaf.name) }
    }

    /// Whether the field is a wrapper, whose weights are its sublayers'.
    fn wraps(&self) -> bool {
        self.leaves.iter().any(|l| !l.path.is_empty())
    }
}

/// What every generated item needs: the model, its element type and its fields.
pub(crate) struct Code<'a> {
    pub(crate) model: &'a Model,
    /// The element type as written in the generated code (`f32`, or the type parameter).
    pub(crate) t: TokenStream,
    pub(crate) fields: Vec<Field>,
    /// For each layer, its field, if it has one (merges and `Input` have none).
    field_of: Vec<Option<usize>>,
}

impl Code<'_> {
    pub(crate) fn field(&self, layer: usize) -> Option<&Field> {
        self.field_of[layer].map(|f| &self.fields[f])
    }

    /// `Self::Input` or `Self::Output`: one tensor, or a tuple of them.
    /// The model's input type: a tensor per input, or token `Ids` where an input feeds an
    /// `Embedding`.
    fn input_ty(&self) -> TokenStream {
        let t = &self.t;
        let types: Vec<TokenStream> = self
            .model
            .inputs
            .iter()
            .zip(self.model.ids())
            .map(|(shape, ids)| match ids {
                Some(v) => {
                    let n = shape.len();
                    quote!(::nn::tensor::Ids<#n, #v>)
                }
                None => shape.ty(t),
            })
            .collect();
        match &types[..] {
            [one] => one.clone(),
            many => quote!((#(#many),*)),
        }
    }

    fn tuple(&self, shapes: &[Shape]) -> TokenStream {
        match shapes {
            [one] => one.ty(&self.t),
            many => {
                let many = many.iter().map(|s| s.ty(&self.t));
                quote!((#(#many),*))
            }
        }
    }
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
    let mut code = Code { model, t, fields: Vec::new(), field_of: Vec::new() };
    for layer in &model.layers {
        let holder = layer.spec.holder(&layer.input, &code.t);
        code.field_of.push(match holder {
            Holder::Nothing => None,
            Holder::Layer(ty) => {
                let leaves = layer.spec.leaves(&layer.input);
                code.fields.push(Field {
                    name: layer.name.clone(),
                    ty,
                    nested: false,
                    const_readable: true,
                    leaves,
                });
                Some(code.fields.len() - 1)
            }
            Holder::Model(ty) => {
                let concrete = !ty.to_string().contains('<');
                code.fields.push(Field {
                    name: layer.name.clone(),
                    ty,
                    nested: true,
                    const_readable: concrete,
                    leaves: Vec::new(),
                });
                Some(code.fields.len() - 1)
            }
        });
    }
    let struct_item = struct_item(&code, ident, attrs, vis, field_vis, &generics);
    let inherent = inherent_impl(&code, ident, &generics, &ty_args);
    let from_bytes = from_bytes(model, &code.fields, ident);
    let model_impl = model_impl(&code, ident, name, &generics, &ty_args);
    let training = crate::sweep::trainable_impl(&code, ident, &generics, &ty_args);
    let field_types = code.fields.iter().map(|f| &f.ty);
    quote! {
        #struct_item
        #inherent
        #from_bytes
        #model_impl
        #training

        // SAFETY: every field is a layer or model that is itself `Zeroable` (the bounds check
        // it), and `configure` restores the activation options zeroing loses.
        unsafe impl #generics ::nn::Zeroable for #ident #ty_args where #( #field_types: ::nn::Zeroable ),* {}
    }
}

/// The struct: one documented field per layer that holds weights or options.
fn struct_item(
    code: &Code,
    ident: &syn::Ident,
    attrs: &[syn::Attribute],
    vis: &TokenStream,
    field_vis: &TokenStream,
    generics: &TokenStream,
) -> TokenStream {
    let model = code.model;
    let macro_name = match model.class {
        Class::Sequential => "sequential!",
        Class::Functional => "functional!",
    };
    let keras = |shapes: &[Shape]| shapes.iter().map(Shape::keras).collect::<Vec<_>>().join(", ");
    let architecture = format!(
        "Generated by `{macro_name}`: {} layers, inputs {}, outputs {}.",
        model.layers.len(),
        keras(&model.inputs),
        keras(&model.output_shapes())
    );
    let field_names = code.fields.iter().map(|f| &f.name);
    let field_types = code.fields.iter().map(|f| &f.ty);
    let field_docs = code.fields.iter().map(|f| format!("Layer `{}`.", f.name));
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
    }
}

/// `ZEROS`, `from_layers` and the hidden `__nn_configure`.
fn inherent_impl(
    code: &Code,
    ident: &syn::Ident,
    generics: &TokenStream,
    ty_args: &TokenStream,
) -> TokenStream {
    let field_names: Vec<_> = code.fields.iter().map(|f| &f.name).collect();
    let field_types: Vec<_> = code.fields.iter().map(|f| &f.ty).collect();
    let configure = code.model.layers.iter().enumerate().flat_map(|(i, layer)| {
        let field = &layer.name;
        let mut set = Vec::new();
        if let Some(f) = code.field(i) {
            // A layer holding others has options of its own too (MultiHeadAttention's dropout).
            let own = match &layer.spec {
                Spec::Layer(spec) if f.wraps() => spec.options(&layer.input, &code.t),
                _ => Vec::new(),
            };
            for (option, value) in own {
                let path = option.split('.').map(|part| format_ident!("{part}"));
                set.push(quote!(self.#field #(.#path)* = #value;));
            }
            for leaf in &f.leaves {
                let place = f.place(leaf);
                for (option, value) in leaf.spec.options(&leaf.input, &code.t) {
                    // A field of a field where the layer wraps another (`dense.activation`).
                    let path = option.split('.').map(|part| format_ident!("{part}"));
                    set.push(quote!(#place #(.#path)* = #value;));
                }
                if leaf.spec.prepares() {
                    set.push(quote!(#place.prepare();));
                }
            }
        }
        if code.field(i).is_some_and(|f| f.nested) {
            set.push(quote!(self.#field.__nn_configure();));
        }
        set
    });
    quote! {
        impl #generics #ident #ty_args {
            /// The model with every weight zero. Being a constant, it can initialise a `static`
            /// of any size without touching the stack.
            ///
            /// Zeroed whole, not built from each layer's own `ZEROS`: the compiler then
            /// evaluates nothing per weight unless the constant is placed in a `static`.
            pub const ZEROS: Self = {
                let mut model: Self = ::nn::zeroed();
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
    }
}

/// `impl nn::Model`: the constants, the forward passes and the weight visitors.
fn model_impl(
    code: &Code,
    ident: &syn::Ident,
    name: &str,
    generics: &TokenStream,
    ty_args: &TokenStream,
) -> TokenStream {
    let (model, t) = (code.model, &code.t);
    let input_ty = code.input_ty();
    let output_ty = code.tuple(&model.output_shapes());
    let input_shapes = model.inputs.iter().map(Shape::dims);
    let output_shapes = model.output_shapes();
    let output_shapes = output_shapes.iter().map(Shape::dims);
    let params = code.fields.iter().map(|f| {
        let ty = &f.ty;
        if f.nested { quote!(<#ty as ::nn::Model>::PARAMS) } else { quote!(<#ty as ::nn::Layer>::PARAMS) }
    });
    // A frozen layer's weights all count as not trained, as in Keras's summary.
    let frozen: Vec<&syn::Ident> = model.layers.iter().filter(|l| l.spec.frozen()).map(|l| &l.name).collect();
    let non_trainable = code.fields.iter().map(|f| {
        let ty = &f.ty;
        if f.nested {
            quote!(<#ty as ::nn::Model>::NON_TRAINABLE)
        } else if frozen.contains(&&f.name) {
            quote!(<#ty as ::nn::Layer>::PARAMS)
        } else {
            quote!(<#ty as ::nn::Layer>::NON_TRAINABLE)
        }
    });
    let infos = layer_infos(code);
    let output_layers = model.output_layers();
    let output_tensors = model.output_tensors();
    let class = model.class.name();
    let chain = model.chain;
    let run = run_body(code);
    let run_batch = batch_body(code);
    let (init, visit, visit_mut) = weight_walks(code);
    quote! {
        impl #generics ::nn::Model for #ident #ty_args {
            type Scalar = #t;
            type Input = #input_ty;
            type Output = #output_ty;
            const NAME: &'static str = #name;
            const CLASS: &'static str = #class;
            const INPUT_SHAPES: &'static [&'static [usize]] = &[#(&[#input_shapes]),*];
            const OUTPUT_SHAPES: &'static [&'static [usize]] = &[#(&[#output_shapes]),*];
            const PARAMS: usize = 0 #( + #params )*;
            const NON_TRAINABLE: usize = 0 #( + #non_trainable )*;
            const LAYERS: &'static [::nn::LayerInfo] = &[#(#infos),*];
            const OUTPUT_LAYERS: &'static [&'static str] = &[#(#output_layers),*];
            const OUTPUT_TENSORS: &'static [usize] = &[#(#output_tensors),*];
            const SUMMARY_CONNECTIONS: bool = !#chain;

            #[inline(always)]
            fn run(&self, level: ::nn::kernels::cpu::Level, x: &Self::Input) -> Self::Output {
                #run
            }

            #[inline(always)]
            fn run_batch(&self, level: ::nn::kernels::cpu::Level, xs: &[Self::Input], ys: &mut [Self::Output]) {
                #run_batch
            }

            fn zeros() -> Self {
                // Not `Self::ZEROS`, which would have the compiler evaluate every weight.
                let mut model: Self = ::nn::zeroed();
                model.__nn_configure();
                model
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
    }
}

/// `LAYERS`: what `summary()` shows of each layer, its class and parameter count taken from
/// nn-core's own constants.
fn layer_infos(code: &Code) -> Vec<TokenStream> {
    code.model
        .layers
        .iter()
        .enumerate()
        .map(|(i, layer)| {
            let layer_name = layer.name.to_string();
            let sublayers: Vec<TokenStream> = match code.field(i) {
                Some(f) if f.wraps() => f
                    .leaves
                    .iter()
                    .map(|leaf| {
                        let (name, group) = (f.label(leaf), &leaf.h5_group);
                        quote!(::nn::Sublayer { name: #name, h5_group: #group })
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let (class, params, non_trainable, h5_group) = match code.field(i) {
                None => {
                    let class = layer.spec.class();
                    (quote!(#class), quote!(0), quote!(0), quote!("vars"))
                }
                Some(Field { ty, nested: false, .. }) => (
                    match layer.spec.keras_class() {
                        Some(class) => quote!(#class),
                        None => quote!(<#ty as ::nn::Layer>::CLASS),
                    },
                    quote!(<#ty as ::nn::Layer>::PARAMS),
                    if layer.spec.frozen() {
                        quote!(<#ty as ::nn::Layer>::PARAMS)
                    } else {
                        quote!(<#ty as ::nn::Layer>::NON_TRAINABLE)
                    },
                    quote!(<#ty as ::nn::Layer>::H5_GROUP),
                ),
                Some(Field { ty, nested: true, .. }) => (
                    quote!(<#ty as ::nn::Model>::CLASS),
                    quote!(<#ty as ::nn::Model>::PARAMS),
                    quote!(<#ty as ::nn::Model>::NON_TRAINABLE),
                    quote!("vars"),
                ),
            };
            let layers = match code.field(i) {
                Some(Field { ty, nested: true, .. }) => quote!(<#ty as ::nn::Model>::LAYERS),
                _ => quote!(&[]),
            };
            let output = layer.output.dims();
            let further = layer.spec.states(&layer.input);
            let further = further.iter().map(|s| s.dims());
            let inbound = &layer.inbound;
            let calls = code.model.calls(i).max(1);
            quote! {
                ::nn::LayerInfo {
                    name: #layer_name,
                    class: #class,
                    output_shape: &[#output],
                    further_outputs: &[#(&[#further]),*],
                    params: #params,
                    non_trainable: #non_trainable,
                    h5_group: #h5_group,
                    sublayers: &[#(#sublayers),*],
                    inbound: &[#(#inbound),*],
                    calls: #calls,
                    layers: #layers,
                }
            }
        })
        .collect()
}

/// The bodies of `init_keras`, `visit_weights` and `visit_weights_mut`: each field in order.
fn weight_walks(code: &Code) -> (Vec<TokenStream>, Vec<TokenStream>, Vec<TokenStream>) {
    let mut walks = (Vec::new(), Vec::new(), Vec::new());
    for f in &code.fields {
        let name = &f.name;
        if f.nested {
            walks.0.push(quote!(::nn::Model::init_keras(&mut self.#name, rng.next_u64());));
            walks.1.push(quote!(::nn::Model::visit_weights(&self.#name, &mut |layer, w| f(layer, w));));
            walks
                .2
                .push(quote!(::nn::Model::visit_weights_mut(&mut self.#name, &mut |layer, w| f(layer, w));));
        } else {
            let given: Vec<Option<TokenStream>> = f.leaves.iter().map(|l| l.spec.initializers()).collect();
            if given.iter().all(Option::is_none) {
                walks.0.push(quote!(::nn::Layer::init_keras(&mut self.#name, &mut rng);));
            } else {
                // Leaf by leaf, in weight order, which is the order a wrapper's `init_keras`
                // draws in: a wrapped layer given initializers gets them.
                for (leaf, init) in f.leaves.iter().zip(given) {
                    let place = f.place(leaf);
                    walks.0.push(match init {
                        Some(init) => quote!(::nn::Layer::init_with(&mut #place, &mut rng, &#init);),
                        None => quote!(::nn::Layer::init_keras(&mut #place, &mut rng);),
                    });
                }
            }
            for leaf in &f.leaves {
                let (place, label) = (f.place(leaf), f.label(leaf));
                walks.1.push(quote!(::nn::Layer::visit_weights(&#place, &mut |w| f(#label, w));));
                walks.2.push(quote!(::nn::Layer::visit_weights_mut(&mut #place, &mut |w| f(#label, w));));
            }
        }
    }
    walks
}

/// The masks step `i` reads, one per input, if its layer reads them (`mask3`, made by step 3).
fn masks_read(model: &Model, masks: &[Option<usize>], i: usize) -> Vec<Option<proc_macro2::Ident>> {
    let step = &model.steps[i];
    let reads = matches!(model.layers[step.layer].spec.mask(), crate::catalog::Mask::Reads { .. });
    let origin = |v: &Value| match v {
        Value::Step(k) => masks[*k],
        _ => None,
    };
    step.args.iter().map(|v| origin(v).filter(|_| reads).map(|k| format_ident!("mask{}", k + 1))).collect()
}

/// The body of `run`: the model's inputs by reference, then each step into its own local in
/// evaluation order (a view, `Flatten` or `Reshape`, binds a reference to its input's memory
/// instead), then the outputs.
fn run_body(code: &Code) -> TokenStream {
    let model = code.model;
    let run = Run::new(code);
    let bind_inputs = match model.inputs.len() {
        1 => quote!(let input0 = x;),
        n => {
            let (locals, index): (Vec<_>, Vec<_>) =
                (0..n).map(|i| (format_ident!("input{i}"), syn::Index::from(i))).unzip();
            quote!(#(let #locals = &x.#index;)*)
        }
    };
    let steps = (0..model.steps.len()).map(|i| run.step(i));
    let result: Vec<TokenStream> = model
        .outputs
        .iter()
        .map(|v| {
            let l = Run::local(v);
            match v {
                Value::Step(k) if !run.is_view[*k] => quote!(#l),
                Value::State(..) => quote!(#l),
                _ => quote!(*#l),
            }
        })
        .collect();
    let result = match result.as_slice() {
        [one] => quote!(#one),
        many => quote!((#(#many),*)),
    };
    quote! {
        // A graph of merges alone has no layer to pass the level to.
        let _ = level;
        #bind_inputs
        #( #steps )*
        #result
    }
}

/// What `run`'s steps are written from: each step's output a local (`x3`), a view a reference to
/// its input's memory, a final state bound only where something reads it, a mask computed
/// where it is made (`mask3`).
struct Run<'a> {
    code: &'a Code<'a>,
    is_view: Vec<bool>,
    /// Every value a step or the output reads.
    used: Vec<Value>,
    masks: Vec<Option<usize>>,
}

impl<'a> Run<'a> {
    fn new(code: &'a Code<'a>) -> Self {
        let model = code.model;
        Run {
            code,
            is_view: model.steps.iter().map(|s| model.layers[s.layer].spec.is_view()).collect(),
            used: model.steps.iter().flat_map(|s| s.args.iter()).chain(&model.outputs).copied().collect(),
            masks: crate::mask::origins(model),
        }
    }

    fn local(v: &Value) -> syn::Ident {
        match v {
            Value::Input(i) => format_ident!("input{i}"),
            Value::Step(i) => format_ident!("x{}", i + 1),
            Value::State(i, k) => format_ident!("x{}_{k}", i + 1),
        }
    }

    /// A value as a reference: inputs and views are references already.
    fn reference(&self, v: &Value) -> TokenStream {
        let l = Self::local(v);
        match v {
            Value::Step(k) if !self.is_view[*k] => quote!(&#l),
            Value::State(..) => quote!(&#l),
            _ => quote!(#l),
        }
    }

    /// The pattern binding a further output: its local, or `_` if nothing reads it.
    fn bound(&self, v: Value) -> TokenStream {
        if self.used.contains(&v) { Self::local(&v).into_token_stream() } else { quote!(_) }
    }

    /// Step `i`'s statements: the mask it makes, if it makes one, then its output.
    fn step(&self, i: usize) -> TokenStream {
        let model = self.code.model;
        let step = &model.steps[i];
        let layer = &model.layers[step.layer];
        let (out, out_ty) = (format_ident!("x{}", i + 1), step.output.ty(&self.code.t));
        let args: Vec<TokenStream> = step.args.iter().map(|v| self.reference(v)).collect();
        let mut made = quote!();
        let mask = format_ident!("mask{}", i + 1);
        match (&layer.spec, self.code.field(step.layer), &args[..]) {
            (Spec::Layer(spec), Some(field), [input, ..]) if self.masks[i] == Some(i) => {
                let name = &field.name;
                if let Some(expr) = spec.mask_of(&quote!(self.#name), input) {
                    made = quote!(let #mask = #expr;);
                }
            }
            // A merge of values masked by different layers: the union of their masks.
            (Spec::Merge { .. }, _, _) if self.masks[i] == Some(i) => {
                let each = step.args.iter().filter_map(|v| match v {
                    Value::Step(k) => self.masks[*k].map(|o| format_ident!("mask{}", o + 1)),
                    _ => None,
                });
                made = quote!(let #mask = ::nn::layers::masking::union(&[#(&#each),*]););
            }
            _ => {}
        }
        let output = if self.is_view[i] {
            quote!(let #out: &#out_ty = ::nn::tensor::view(#(#args),*);)
        } else {
            match self.code.field(step.layer) {
                None => {
                    let shapes: Vec<Shape> = step.args.iter().map(|v| model.shape_of(v).clone()).collect();
                    let call = layer
                        .spec
                        .merge_call(&args, &shapes, &step.output)
                        .unwrap_or_else(|| quote!(*#(#args)*));
                    quote!(let #out: #out_ty = #call;)
                }
                Some(Field { name, nested: false, .. }) => self.layer_call(i, name, &args),
                Some(Field { name, nested: true, .. }) => {
                    // The macro takes a nested model's sizes on trust; rustc checks them against
                    // its type, and its error should point at the sizes the user wrote.
                    let site = proc_macro2::Span::call_site();
                    let (input_span, output_span) = layer.spec.size_spans().unwrap_or((site, site));
                    let args = args.iter().map(|a| respan(a.clone(), input_span));
                    let predict = respan(quote!(::nn::Model::run), output_span);
                    quote_spanned!(output_span=> let #out: #out_ty = #predict(&self.#name, level, #(#args),*);)
                }
            }
        };
        quote!(#made #output)
    }

    /// The statement of a call of the layer in field `name` at step `i`: with the masks it
    /// reads, its states, or its attention scores as the layer takes and gives them.
    fn layer_call(&self, i: usize, name: &syn::Ident, args: &[TokenStream]) -> TokenStream {
        let model = self.code.model;
        let step = &model.steps[i];
        let (out, out_ty) = (format_ident!("x{}", i + 1), step.output.ty(&self.code.t));
        let read = masks_read(model, &self.masks, i);
        let mask = read.first().cloned().flatten();
        let zeroed = matches!(&model.layers[step.layer].spec, Spec::Layer(l) if l.zeroes_masked());
        if model.layers[step.layer].spec.takes_tuple() {
            // Its inputs as the tuple its type takes (`Attention`'s query, value, key), each
            // one's mask if any has one, and with `return_attention_scores` the scores.
            let x = quote!(&(#(*#args),*));
            let masks = read.iter().any(Option::is_some).then(|| {
                let each = read.iter().map(|m| m.as_ref().map_or(quote!(None), |m| quote!(Some(&#m[..]))));
                quote!(&[#(#each),*])
            });
            return match (step.states.is_empty(), masks) {
                (true, None) => quote!(let #out: #out_ty = ::nn::Layer::forward_at(&self.#name, level, #x);),
                (true, Some(m)) => quote!(
                    let #out: #out_ty = ::nn::layers::MaskedInputs::forward_masks(&self.#name, level, #x, #m);
                ),
                (false, masks) => {
                    let bound = self.bound(Value::State(i, 1));
                    let call = match masks {
                        Some(m) => quote!(self.#name.forward_masked_with_scores(level, #x, #m)),
                        None => quote!(self.#name.forward_with_scores(level, #x)),
                    };
                    quote!(let (#out, #bound): (#out_ty, _) = #call;)
                }
            };
        }
        if !step.states.is_empty() || args.len() > 1 {
            // A recurrent layer's states: from `initial_state` (its further inputs, LSTM's `c`
            // zeros for the others), and with `return_state` the last `h` and `c`.
            let zeros = quote!(&::nn::nalgebra::SVector::zeros());
            let call = match (args, &mask) {
                ([x, h, c], None) => quote!(self.#name.forward_from_state(level, #x, #h, #c)),
                ([x, h], None) => quote!(self.#name.forward_from_state(level, #x, #h, #zeros)),
                (_, None) => quote!(self.#name.forward_with_state(level, #(#args),*)),
                (args, Some(m)) => {
                    let (h, c) = (args.get(1).unwrap_or(&zeros), args.get(2).unwrap_or(&zeros));
                    let x = &args[0];
                    quote!(self.#name.forward_masked_from_state(level, #x, #h, #c, &#m, #zeroed))
                }
            };
            let (h, c) = (self.bound(Value::State(i, 1)), self.bound(Value::State(i, 2)));
            return quote!(let (#out, #h, #c): (#out_ty, _, _) = #call;);
        }
        let call = match &mask {
            Some(m) if zeroed => {
                quote!(::nn::layers::Masked::forward_masked_zeroed(&self.#name, level, #(#args),*, &#m))
            }
            Some(m) => quote!(::nn::layers::Masked::forward_masked(&self.#name, level, #(#args),*, &#m)),
            // A large output is written where the pass keeps it (a convolution's: the copy of
            // a returned value was 5% of KWS's time); a small one is returned, the code M1 and
            // M2 were tuned on (writing M2's in place made LLVM spill two accumulators of its
            // one-sample product at AVX2: 3.97 to 4.72 µs).
            None if step.output.len() >= IN_PLACE_VALUES => {
                return quote!(
                    let mut #out = <#out_ty as ::nn::tensor::Tensor>::ZEROS;
                    ::nn::Layer::forward_into(&self.#name, level, #(#args),*, &mut #out);
                );
            }
            None => quote!(::nn::Layer::forward_at(&self.#name, level, #(#args),*)),
        };
        quote!(let #out: #out_ty = #call;)
    }
}

/// Outputs of at least this many values are written in place (nn-core's `Layer::forward_into`).
const IN_PLACE_VALUES: usize = 1024;

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
            let leaves = f.leaves.iter().map(|leaf| f.place(leaf));
            quote!(#( let at = #leaves.read_le_bytes(bytes, at); )*)
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
                let mut model: Self = ::nn::zeroed();
                model.__nn_configure();
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

/// The largest stack buffers a batch pass keeps for one chunk (bytes); a model whose values
/// for one sample need more runs its batch sample by sample.
const BATCH_STACK: usize = 256 * 1024;

/// The body of `run_batch`. The batch runs in chunks, step by step: each step's values for the
/// whole chunk sit in a stack buffer, so each Dense layer is one matrix product
/// (`Layer::forward_batch`) and each merge one loop over the chunk; a view (`Flatten`,
/// `Reshape`) is its input's buffer seen in its own shape. The first step reads a single input
/// straight from `xs`, and the last writes straight into `ys` when it is the one output and
/// nothing else reads it (a chain of layers copies nothing). A graph with a nested model runs
/// sample by sample instead: the nested model's sizes are then checked (and reported) once, in
/// `run`; so does a model whose values for one sample outgrow the stack budget, and one over
/// sequences or images.
fn batch_body(code: &Code) -> TokenStream {
    let (model, t) = (code.model, &code.t);
    let is_view: Vec<bool> = model.steps.iter().map(|s| model.layers[s.layer].spec.is_view()).collect();
    let single_input = model.inputs.len() == 1;
    let last = model.steps.len().checked_sub(1);
    let direct = last.is_some_and(|last| {
        model.outputs == [Value::Step(last)]
            && !is_view[last]
            && !model.steps.iter().any(|step| step.args.contains(&Value::Step(last)))
    });

    // Buffers: the gathered inputs of a several-input model, then every step's output but a
    // direct last one and views.
    let mut buffers: Vec<(proc_macro2::Ident, &Shape)> = Vec::new();
    if !single_input {
        buffers.extend(model.inputs.iter().enumerate().map(|(i, s)| (format_ident!("i{i}"), s)));
    }
    for (k, step) in model.steps.iter().enumerate() {
        if !(is_view[k] || direct && Some(k) == last) {
            buffers.push((format_ident!("b{k}"), &step.output));
        }
    }
    let per_sample = 4 * buffers.iter().map(|(_, s)| s.len()).sum::<usize>().max(1);
    let nested = model.steps.iter().any(|step| code.field(step.layer).is_some_and(|f| f.nested));
    // Over sequences and images every layer already multiplies a matrix per sample (a row per
    // step or pixel), so a chunk gains nothing and its buffers crowd L1: the two CNNs of
    // BENCHMARKS.md ran 9% (sensor) and 28% (KWS) slower at batch 64 chunked than sample by
    // sample.
    let tensors = model.inputs.iter().chain(model.steps.iter().map(|s| &s.output)).any(|s| s.rank() > 1);
    // Final states only come from recurrent layers, which take sequences: never chunked.
    let states = model.steps.iter().any(|s| !s.states.is_empty());
    if last.is_none() || nested || tensors || states || per_sample > BATCH_STACK {
        return quote! {
            for (x, y) in xs.iter().zip(ys.iter_mut()) {
                *y = ::nn::Model::run(self, level, x);
            }
        };
    }
    let chunk = (65_536 / per_sample).clamp(1, 64);
    let declare = buffers.iter().map(|(b, shape)| {
        let ty = shape.ty(t);
        quote!(let mut #b = ::nn::kernels::Aligned([<#ty as ::nn::tensor::Tensor>::ZEROS; CHUNK]);)
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
        Value::Step(k) if is_view[*k] => {
            let b = format_ident!("b{k}");
            quote!(#b)
        }
        Value::Step(k) => {
            let b = format_ident!("b{k}");
            quote!(&#b.0[..n])
        }
        Value::State(..) => quote!(compile_error!("nn: a final state in a chunked batch")),
    };
    let at = |v: &Value| match v {
        Value::Input(_) if single_input => quote!(&xs[s]),
        Value::Input(i) => {
            let b = format_ident!("i{i}");
            quote!(&#b.0[s])
        }
        Value::Step(k) if is_view[*k] => {
            let b = format_ident!("b{k}");
            quote!(&#b[s])
        }
        Value::Step(k) => {
            let b = format_ident!("b{k}");
            quote!(&#b.0[s])
        }
        Value::State(..) => quote!(compile_error!("nn: a final state in a chunked batch")),
    };
    let calls = model.steps.iter().enumerate().map(|(k, step)| {
        let b = format_ident!("b{k}");
        let is_last = Some(k) == last;
        let output = if direct && is_last { quote!(&mut ys[..n]) } else { quote!(&mut #b.0[..n]) };
        let layer = &model.layers[step.layer];
        if is_view[k] {
            let input = slice(&step.args[0]);
            let ty = step.output.ty(t);
            return quote!(let #b: &[#ty] = ::nn::tensor::cast_slice(#input););
        }
        match code.field(step.layer).map(|f| &f.name) {
            Some(name) => {
                let input = slice(&step.args[0]);
                quote!(::nn::Layer::forward_batch(&self.#name, level, #input, #output);)
            }
            None => {
                let args: Vec<TokenStream> = step.args.iter().map(at).collect();
                let shapes: Vec<Shape> = step.args.iter().map(|v| model.shape_of(v).clone()).collect();
                match layer.spec.merge_call(&args, &shapes, &step.output) {
                    Some(merge) => {
                        let target = if direct && is_last { quote!(ys[s]) } else { quote!(#b.0[s]) };
                        quote!(for s in 0..n { #target = #merge; })
                    }
                    None => {
                        let input = slice(&step.args[0]);
                        quote!((#output).copy_from_slice(#input);)
                    }
                }
            }
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
