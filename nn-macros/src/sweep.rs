//! The training sweep of a checked model: `impl nn::train::Trainable`, a forward pass over a
//! batch that keeps every value in a buffer of its own, and the backward pass over the same
//! values in reverse evaluation order. Nothing here validates: a model whose layers do not
//! all train (`Spec::trains`) simply gets no sweep.
//!
//! Buffers are named after the step that fills them: `v3` holds step 3's output for every
//! sample, `k3` what its layer keeps (`Train::Kept`), `d3` the gradient of the loss with
//! respect to `v3`; `i1` gathers a model's second input when there are several. A view
//! (`Flatten`, `Reshape`) has no buffer: its value and gradient are its input's, cast.

use crate::expand::Code;
use crate::ir::Value;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// `impl Trainable` and its buffer type, or nothing if some layer cannot train.
pub fn trainable_impl(
    code: &Code,
    ident: &syn::Ident,
    generics: &TokenStream,
    ty_args: &TokenStream,
) -> TokenStream {
    let model = code.model;
    let sweep = Sweep { code };
    // An output that is a model input, or a view of one, has no gradient to give.
    let trains = model.steps.iter().all(|s| model.layers[s.layer].spec.trains() && s.states.is_empty())
        && model.outputs.iter().all(|o| sweep.grad(o).is_some());
    if !trains || model.steps.is_empty() {
        return quote!();
    }
    let buffers = format_ident!("__{ident}Buffers");
    let (fields, types, zeros) = sweep.buffer_fields();
    let forward = sweep.forward();
    let backward = sweep.backward();
    let zip = sweep.zip_trained();
    let (outputs, output_grads) = sweep.outputs();
    let t = &code.t;
    let doc = format!("The values of a training pass of [`{ident}`] over a batch (`nn::train::Trainable`).");
    quote! {
        #[doc = #doc]
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        pub struct #buffers #generics {
            #( #fields: ::nn::train::Buffer<#types>, )*
        }

        impl #generics ::nn::train::Trainable for #ident #ty_args {
            type Buffers = #buffers #ty_args;
            const BYTES_PER_SAMPLE: usize = 0 #( + ::core::mem::size_of::<#types>() )*;

            fn buffers(batch: usize) -> Self::Buffers {
                #buffers { #( #fields: ::nn::train::Buffer::new(batch, #zeros), )* }
            }

            #[inline(always)]
            #[allow(unused_variables)]
            fn forward_train(
                &mut self,
                level: ::nn::kernels::cpu::Level,
                b: &mut Self::Buffers,
                xs: &[Self::Input],
                rng: &mut ::nn::init::Rng,
            ) {
                let n = xs.len();
                #forward
            }

            fn output(b: &Self::Buffers, k: usize, n: usize) -> &[#t] {
                match k {
                    #outputs
                    _ => &[],
                }
            }

            fn output_grad(b: &mut Self::Buffers, k: usize, n: usize) -> &mut [#t] {
                match k {
                    #output_grads
                    _ => &mut [],
                }
            }

            #[inline(always)]
            #[allow(unused_variables)]
            fn backward(
                &self,
                level: ::nn::kernels::cpu::Level,
                b: &mut Self::Buffers,
                xs: &[Self::Input],
                grads: &mut Self,
            ) {
                let n = xs.len();
                #backward
            }

            fn zip_trained(&mut self, grads: &Self, f: &mut ::nn::train::Update<'_, #t>) {
                #zip
            }
        }
    }
}

struct Sweep<'a> {
    code: &'a Code<'a>,
}

impl Sweep<'_> {
    fn is_view(&self, k: usize) -> bool {
        let model = self.code.model;
        model.layers[model.steps[k].layer].spec.trains_as_view()
    }

    /// The type of the layer computing step `k`, if it is held in a field.
    fn layer_ty(&self, k: usize) -> Option<&TokenStream> {
        self.code.field(self.code.model.steps[k].layer).map(|f| &f.ty)
    }

    /// Every buffer: its field, its element type and the value it starts as.
    fn buffer_fields(&self) -> (Vec<syn::Ident>, Vec<TokenStream>, Vec<TokenStream>) {
        let (model, t) = (self.code.model, &self.code.t);
        let (mut fields, mut types, mut zeros) = (Vec::new(), Vec::new(), Vec::new());
        if model.inputs.len() > 1 {
            for (i, (shape, ids)) in model.inputs.iter().zip(model.ids()).enumerate() {
                let ty = match ids {
                    Some(v) => {
                        let n = shape.len();
                        quote!(::nn::tensor::Ids<#n, #v>)
                    }
                    None => shape.ty(t),
                };
                fields.push(format_ident!("i{i}"));
                zeros.push(quote!(<#ty as ::nn::tensor::Part<#t>>::ZERO));
                types.push(ty);
            }
        }
        for (k, step) in model.steps.iter().enumerate() {
            if self.is_view(k) {
                continue;
            }
            let ty = step.output.ty(t);
            for name in ["v", "d"] {
                fields.push(format_ident!("{name}{k}"));
                types.push(ty.clone());
                zeros.push(quote!(<#ty as ::nn::tensor::Tensor>::ZEROS));
            }
            if let Some(layer) = self.layer_ty(k) {
                fields.push(format_ident!("k{k}"));
                types.push(quote!(<#layer as ::nn::train::Train>::Kept));
                zeros.push(quote!(<#layer as ::nn::train::Train>::KEPT));
            }
        }
        (fields, types, zeros)
    }

    /// A value over the batch, `&[X]`.
    fn val(&self, v: &Value) -> TokenStream {
        let model = self.code.model;
        match v {
            Value::Input(_) if model.inputs.len() == 1 => quote!(xs),
            Value::Input(i) => {
                let b = format_ident!("i{i}");
                quote!(&b.#b[..n])
            }
            Value::Step(k) if self.is_view(*k) => {
                let (source, ty) =
                    (self.val(&model.steps[*k].args[0]), model.steps[*k].output.ty(&self.code.t));
                quote!(::nn::tensor::cast_slice::<_, #ty>(#source))
            }
            Value::Step(k) => {
                let b = format_ident!("v{k}");
                quote!(&b.#b[..n])
            }
            Value::State(..) => quote!(compile_error!("nn: a recurrent state in a training sweep")),
        }
    }

    /// The gradient of a value over the batch, `&mut [X]`; `None` for a model input.
    fn grad(&self, v: &Value) -> Option<TokenStream> {
        let model = self.code.model;
        match v {
            Value::Step(k) if self.is_view(*k) => {
                let ty = model.steps[*k].output.ty(&self.code.t);
                self.grad(&model.steps[*k].args[0])
                    .map(|g| quote!(::nn::tensor::cast_slice_mut::<_, #ty>(#g)))
            }
            Value::Step(k) => {
                let b = format_ident!("d{k}");
                Some(quote!(&mut b.#b[..n]))
            }
            Value::Input(_) | Value::State(..) => None,
        }
    }

    /// The forward pass: gather the inputs, run each step into its buffers, zero the
    /// gradients.
    fn forward(&self) -> TokenStream {
        let model = self.code.model;
        let gather = (model.inputs.len() > 1).then(|| {
            let (locals, index): (Vec<_>, Vec<_>) =
                (0..model.inputs.len()).map(|i| (format_ident!("i{i}"), syn::Index::from(i))).unzip();
            quote!(for (s, x) in xs.iter().enumerate() { #( b.#locals[s] = x.#index; )* })
        });
        let mut steps = Vec::new();
        let mut zero = Vec::new();
        for (k, step) in model.steps.iter().enumerate() {
            if self.is_view(k) {
                continue;
            }
            let (v, kept, d) = (format_ident!("v{k}"), format_ident!("k{k}"), format_ident!("d{k}"));
            let ty = step.output.ty(&self.code.t);
            zero.push(quote!(b.#d[..n].fill(<#ty as ::nn::tensor::Tensor>::ZEROS);));
            let layer = &model.layers[step.layer];
            match self.code.field(step.layer) {
                Some(field) => {
                    let (name, x) = (&field.name, self.val(&step.args[0]));
                    let trainable = !layer.spec.frozen();
                    steps.push(quote! {
                        ::nn::train::Train::forward_train(
                            &mut self.#name, level, #x, &mut b.#v[..n], &mut b.#kept[..n],
                            &mut ::nn::train::Ctx { trainable: #trainable, rng: &mut *rng },
                        );
                    });
                }
                None => {
                    let args: Vec<TokenStream> = step
                        .args
                        .iter()
                        .map(|a| {
                            let val = self.val(a);
                            quote!(&(#val)[s])
                        })
                        .collect();
                    let shapes: Vec<_> = step.args.iter().map(|a| model.shape_of(a).clone()).collect();
                    let call = layer.spec.merge_call(&args, &shapes, &step.output);
                    steps.push(quote!(for s in 0..n { b.#v[s] = #call; }));
                }
            }
        }
        quote! {
            #gather
            #( #steps )*
            #( #zero )*
        }
    }

    /// The backward pass: each step in reverse order, from its output's gradient to its
    /// inputs' and its weights'.
    fn backward(&self) -> TokenStream {
        let model = self.code.model;
        let mut steps = Vec::new();
        for (k, step) in model.steps.iter().enumerate().rev() {
            if self.is_view(k) {
                continue;
            }
            let (v, kept, d) = (format_ident!("v{k}"), format_ident!("k{k}"), format_ident!("d{k}"));
            match self.code.field(step.layer) {
                Some(field) => {
                    let (name, x) = (&field.name, self.val(&step.args[0]));
                    let dx = match self.grad(&step.args[0]) {
                        Some(g) => quote!(Some(#g)),
                        None => quote!(None),
                    };
                    let grads = match model.layers[step.layer].spec.frozen() {
                        true => quote!(None),
                        false => quote!(Some(&mut grads.#name)),
                    };
                    steps.push(quote! {
                        ::nn::train::Train::backward(
                            &self.#name, level, #x, &b.#v[..n], &b.#kept[..n], &mut b.#d[..n], #dx, #grads,
                        );
                    });
                }
                None => steps.extend(self.merge_backward(k)),
            }
        }
        quote!(#( #steps )*)
    }

    /// A merge's backward pass: one statement per operand that has a gradient.
    fn merge_backward(&self, k: usize) -> Vec<TokenStream> {
        let model = self.code.model;
        let step = &model.steps[k];
        let spec = &model.layers[step.layer].spec;
        let vals: Vec<TokenStream> = step
            .args
            .iter()
            .map(|a| {
                let val = self.val(a);
                quote!(::nn::tensor::flatten(#val))
            })
            .collect();
        let shapes: Vec<_> = step.args.iter().map(|a| model.shape_of(a).clone()).collect();
        let d = format_ident!("d{k}");
        let dy = quote!(::nn::tensor::flatten(&b.#d[..n]));
        step.args
            .iter()
            .enumerate()
            .filter_map(|(j, a)| {
                let dx = self.grad(a)?;
                spec.merge_grad(j, &vals, &shapes, &dy, &quote!(::nn::tensor::flatten_mut(#dx)))
            })
            .collect()
    }

    /// `output` and `output_grad`: one match arm per model output.
    fn outputs(&self) -> (TokenStream, TokenStream) {
        let model = self.code.model;
        let (mut values, mut grads) = (Vec::new(), Vec::new());
        for (k, out) in model.outputs.iter().enumerate() {
            let val = self.val(out);
            values.push(quote!(#k => ::nn::tensor::flatten(#val),));
            if let Some(g) = self.grad(out) {
                grads.push(quote!(#k => ::nn::tensor::flatten_mut(#g),));
            }
        }
        (quote!(#( #values )*), quote!(#( #grads )*))
    }

    /// `zip_trained`: every leaf of every field that is not frozen, in weight order.
    fn zip_trained(&self) -> TokenStream {
        let model = self.code.model;
        let (this, grads) = (quote!(self), quote!(grads));
        let frozen: Vec<&syn::Ident> =
            model.layers.iter().filter(|l| l.spec.frozen()).map(|l| &l.name).collect();
        let calls = self.code.fields.iter().filter(|f| !frozen.contains(&&f.name)).flat_map(|f| {
            f.leaves.iter().map(|leaf| {
                let (p, g) = (f.place_in(&this, leaf), f.place_in(&grads, leaf));
                quote!(::nn::train::zip_trained(&mut #p, &#g, f);)
            })
        });
        quote!(#( #calls )*)
    }
}
