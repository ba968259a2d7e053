//! The training sweep of a checked model: `impl nn::train::Trainable`, a forward pass over a
//! batch that keeps every value in a buffer of its own, and the backward pass over the same
//! values in reverse evaluation order. Nothing here validates: a model whose layers do not
//! all train (`Spec::trains`) simply gets no sweep.
//!
//! Buffers are named after the step that fills them: `v3` holds step 3's output for every
//! sample, `k3` what its layer keeps (`Train::Kept`), `d3` the gradient of the loss with
//! respect to `v3`; `i1` gathers a model's second input when there are several, `t3` the
//! inputs of a layer taking them as a tuple (`Attention`) and `e3` their gradients. A view
//! (`Flatten`, `Reshape`) has no buffer: its value and gradient are its input's, cast.

use crate::expand::Code;
use crate::ir::Value;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// The first layer of `model` without a backward pass, in Keras's terms, if any.
pub fn untrainable(model: &crate::ir::Model) -> Option<String> {
    model.steps.iter().find_map(|s| {
        let layer = &model.layers[s.layer];
        let why = match (layer.spec.trains(), s.states.is_empty()) {
            (false, _) => layer.spec.untrained(),
            (true, false) => {
                "gives further outputs (final states, attention scores), which have no backward pass yet"
            }
            (true, true) => "has no backward pass yet",
        };
        (!layer.spec.trains() || !s.states.is_empty())
            .then(|| format!("`{}` ({}) {why}", layer.name, layer.spec.class()))
    })
}

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
        && model.outputs.iter().all(|o| matches!(sweep.grad(o), Some(Grad::Slice(_))));
    if !trains || model.steps.is_empty() {
        return quote!();
    }
    let buffers = format_ident!("__{ident}Buffers");
    let Buffers { fields, types, zeros, sizes } = sweep.buffer_fields();
    let forward = sweep.forward();
    let backward = sweep.backward();
    let zip = sweep.zip_trained();
    let (outputs, output_grads) = sweep.outputs();
    let t = &code.t;
    // A nested model trains if its type does: a higher-ranked bound is checked only where the
    // sweep is used, so a model nesting one that cannot train still compiles (and predicts).
    let nested = code.fields.iter().filter(|f| f.nested).map(|f| &f.ty);
    let bounds = quote!(where #( for<'nn> #nested: ::nn::train::Trainable, )*);
    let doc = format!("The values of a training pass of [`{ident}`] over a batch (`nn::train::Trainable`).");
    quote! {
        #[doc = #doc]
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        pub struct #buffers #generics #bounds {
            #( #fields: #types, )*
        }

        impl #generics ::nn::train::Trainable for #ident #ty_args #bounds {
            type Buffers = #buffers #ty_args;
            const BYTES_PER_SAMPLE: usize = 0 #( + #sizes )*;

            fn buffers(batch: usize) -> Self::Buffers {
                #buffers { #( #fields: #zeros, )* }
            }

            #[inline(always)]
            #[allow(unused_variables)]
            fn forward_train(
                &mut self,
                level: ::nn::kernels::cpu::Level,
                b: &mut Self::Buffers,
                xs: &[Self::Input],
                rng: &mut ::nn::init::Rng,
            ) -> f64 {
                let n = xs.len();
                let mut penalty = 0.0;
                #forward
                penalty
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
                mut dxs: Option<&mut [Self::Input]>,
                grads: &mut Self,
                write: ::nn::train::Write,
            ) {
                let n = xs.len();
                #backward
            }

            fn zip_trained(&mut self, grads: &mut Self, f: &mut ::nn::train::Update<'_, #t>) {
                #zip
            }
        }
    }
}

struct Sweep<'a> {
    code: &'a Code<'a>,
}

/// The buffers' fields, types, constructors and bytes per sample.
struct Buffers {
    fields: Vec<syn::Ident>,
    types: Vec<TokenStream>,
    zeros: Vec<TokenStream>,
    sizes: Vec<TokenStream>,
}

/// What the backward pass has written so far, walking the steps in reverse.
struct Written {
    /// The steps whose gradient buffer (`d{k}`) holds a gradient of this step.
    values: Vec<usize>,
    /// The layers whose weights' gradient has been written.
    layers: Vec<usize>,
}

impl Written {
    /// Whether a write into step `root`'s gradient is the first of this step (then noted);
    /// never for a model input's (`None`).
    fn first(&mut self, root: Option<usize>) -> bool {
        match root {
            Some(k) if !self.values.contains(&k) => {
                self.values.push(k);
                true
            }
            _ => false,
        }
    }

    /// How a call of `layer` writes its weights' gradient: as the sweep's caller asks
    /// (`write`) for its first call in the pass, added for the others (a shared layer).
    fn layer(&mut self, layer: usize) -> TokenStream {
        if self.layers.contains(&layer) {
            return quote!(::nn::train::Write::Add);
        }
        self.layers.push(layer);
        quote!(write)
    }
}

/// Where the gradient of a value goes.
enum Grad {
    /// A buffer: `&mut [X]`.
    Slice(TokenStream),
    /// The caller's gradient of the model's input, if it wants one: `Option<&mut [X]>`.
    Optional(TokenStream),
}

impl Sweep<'_> {
    fn is_view(&self, k: usize) -> bool {
        let model = self.code.model;
        model.layers[model.steps[k].layer].spec.trains_as_view()
    }

    /// Every buffer: its field, its type, how it is made for `batch` samples and its bytes per
    /// sample.
    fn buffer_fields(&self) -> Buffers {
        let (model, t) = (self.code.model, &self.code.t);
        let mut b = Buffers { fields: Vec::new(), types: Vec::new(), zeros: Vec::new(), sizes: Vec::new() };
        let mut per_sample = |name: syn::Ident, ty: TokenStream, zero: TokenStream| {
            b.sizes.push(quote!(::core::mem::size_of::<#ty>()));
            b.zeros.push(quote!(::nn::train::Buffer::new(batch, #zero)));
            b.types.push(quote!(::nn::train::Buffer<#ty>));
            b.fields.push(name);
        };
        if model.inputs.len() > 1 {
            for (i, (shape, ids)) in model.inputs.iter().zip(model.ids()).enumerate() {
                let ty = match ids {
                    Some(v) => {
                        let n = shape.len();
                        quote!(::nn::tensor::Ids<#n, #v>)
                    }
                    None => shape.ty(t),
                };
                per_sample(format_ident!("i{i}"), ty.clone(), quote!(<#ty as ::nn::tensor::Part<#t>>::ZERO));
            }
        }
        let mut nested = Vec::new();
        for (k, step) in model.steps.iter().enumerate() {
            if self.is_view(k) {
                continue;
            }
            let ty = step.output.ty(t);
            for name in ["v", "d"] {
                per_sample(
                    format_ident!("{name}{k}"),
                    ty.clone(),
                    quote!(<#ty as ::nn::tensor::Tensor>::ZEROS),
                );
            }
            if let Some(tuple) = self.tuple_ty(k) {
                // A tuple layer's inputs, gathered, and their gradients before they are shared out.
                for name in ["t", "e"] {
                    let zero = quote!(<#tuple as ::nn::tensor::Tensors<#t>>::ZEROED);
                    per_sample(format_ident!("{name}{k}"), tuple.clone(), zero);
                }
            }
            match self.code.field(step.layer) {
                Some(f) if f.nested => nested.push((format_ident!("k{k}"), f.ty.clone())),
                Some(f) => {
                    let layer = &f.ty;
                    let kept = quote!(<#layer as ::nn::train::Train>::Kept);
                    per_sample(format_ident!("k{k}"), kept, quote!(<#layer as ::nn::train::Train>::KEPT));
                }
                None => {}
            }
        }
        // A nested model's call keeps its whole pass, in its own buffers.
        for (name, ty) in nested {
            b.sizes.push(quote!(<#ty as ::nn::train::Trainable>::BYTES_PER_SAMPLE));
            b.zeros.push(quote!(<#ty as ::nn::train::Trainable>::buffers(batch)));
            b.types.push(quote!(<#ty as ::nn::train::Trainable>::Buffers));
            b.fields.push(name);
        }
        b
    }

    /// The tuple of input types of step `k`, if its layer takes its inputs as one.
    fn tuple_ty(&self, k: usize) -> Option<TokenStream> {
        let model = self.code.model;
        let step = &model.steps[k];
        model.layers[step.layer].spec.takes_tuple().then(|| {
            let types = step.args.iter().map(|a| model.shape_of(a).ty(&self.code.t));
            quote!((#(#types),*))
        })
    }

    /// Gathers step `k`'s inputs into its tuples, `t{k}`, and gives that buffer.
    fn gather_tuple(&self, k: usize) -> (TokenStream, TokenStream) {
        let (t, args) = (format_ident!("t{k}"), &self.code.model.steps[k].args);
        let vals = args.iter().map(|a| self.val(a));
        let gather = quote!(for s in 0..n { b.#t[s] = (#( (#vals)[s] ),*); });
        (gather, quote!(&b.#t[..n]))
    }

    /// Shares out the gradients of step `k`'s tuples, `e{k}`, to its inputs that take one.
    fn scatter_tuple(&self, k: usize) -> Vec<TokenStream> {
        let e = format_ident!("e{k}");
        let add = |j: usize, dst: TokenStream| {
            let j = syn::Index::from(j);
            quote! {
                for (dst, src) in (#dst).iter_mut().zip(&b.#e[..n]) {
                    let src = ::nn::tensor::Tensor::as_slice(&src.#j);
                    for (d, g) in ::nn::tensor::Tensor::as_mut_slice(dst).iter_mut().zip(src) {
                        *d += *g;
                    }
                }
            }
        };
        let args = &self.code.model.steps[k].args;
        args.iter()
            .enumerate()
            .filter_map(|(j, a)| match self.grad(a)? {
                Grad::Slice(g) => Some(add(j, g)),
                Grad::Optional(g) => {
                    let add = add(j, quote!(dx));
                    Some(quote!(if let Some(dx) = #g { #add }))
                }
            })
            .collect()
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

    /// The gradient of a value over the batch: `&mut [X]`, or for the model's single input the
    /// caller's `Option<&mut [X]>` (given when the model is nested in another); `None` where
    /// no gradient is wanted (the inputs of a model with several).
    fn grad(&self, v: &Value) -> Option<Grad> {
        let model = self.code.model;
        match v {
            Value::Step(k) if self.is_view(*k) => {
                let ty = model.steps[*k].output.ty(&self.code.t);
                self.grad(&model.steps[*k].args[0]).map(|g| match g {
                    Grad::Slice(g) => Grad::Slice(quote!(::nn::tensor::cast_slice_mut::<_, #ty>(#g))),
                    Grad::Optional(g) => {
                        Grad::Optional(quote!(#g.map(|d| ::nn::tensor::cast_slice_mut::<_, #ty>(d))))
                    }
                })
            }
            Value::Step(k) => {
                let b = format_ident!("d{k}");
                Some(Grad::Slice(quote!(&mut b.#b[..n])))
            }
            Value::Input(_) if model.inputs.len() == 1 && model.ids()[0].is_none() => {
                Some(Grad::Optional(quote!(dxs.as_deref_mut())))
            }
            Value::Input(_) | Value::State(..) => None,
        }
    }

    /// The forward pass: gather the inputs, run each step into its buffers, zero the outputs'
    /// gradients for the losses to add into (the backward pass sets every other gradient
    /// before it reads it).
    fn forward(&self) -> TokenStream {
        let model = self.code.model;
        let gather = (model.inputs.len() > 1).then(|| {
            let (locals, index): (Vec<_>, Vec<_>) =
                (0..model.inputs.len()).map(|i| (format_ident!("i{i}"), syn::Index::from(i))).unzip();
            quote!(for (s, x) in xs.iter().enumerate() { #( b.#locals[s] = x.#index; )* })
        });
        let mut steps = Vec::new();
        let zero: Vec<TokenStream> = self.output_roots().into_iter().map(|k| self.zero_grad(k)).collect();
        for (k, step) in model.steps.iter().enumerate() {
            if self.is_view(k) {
                continue;
            }
            let (v, kept) = (format_ident!("v{k}"), format_ident!("k{k}"));
            let layer = &model.layers[step.layer];
            match self.code.field(step.layer) {
                Some(field) if field.nested => {
                    let (name, ty, x) = (&field.name, &field.ty, self.val(&step.args[0]));
                    // Cast, not passed as is: a nested model's sizes are taken on trust and
                    // `run` reports a mismatch once; the sweep must not report it again.
                    steps.push(quote! {
                        penalty += ::nn::train::Trainable::forward_train(
                            &mut self.#name, level, &mut b.#kept, ::nn::tensor::cast_slice(#x), &mut *rng,
                        );
                        ::nn::tensor::flatten_mut(&mut b.#v[..n])
                            .copy_from_slice(<#ty as ::nn::train::Trainable>::output(&b.#kept, 0, n));
                    });
                }
                Some(field) => {
                    let (name, mut x) = (&field.name, self.val(&step.args[0]));
                    if layer.spec.takes_tuple() {
                        let (gather, tuples) = self.gather_tuple(k);
                        steps.push(gather);
                        x = tuples;
                    }
                    let trainable = !layer.spec.frozen();
                    steps.push(quote! {
                        ::nn::train::Train::forward_train(
                            &mut self.#name, level, #x, &mut b.#v[..n], &mut b.#kept[..n],
                            &mut ::nn::train::Ctx { trainable: #trainable, rng: &mut *rng, penalty: &mut penalty },
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
    /// inputs' and its weights'. Each gradient's first write sets it ([`Written`]), so none is
    /// zeroed for the pass to add into, except before a write that only adds (a merge's, a
    /// nested model's, a tuple's share) or a read of a gradient nothing wrote.
    fn backward(&self) -> TokenStream {
        let model = self.code.model;
        let mut written = Written { values: self.output_roots(), layers: Vec::new() };
        let mut steps = Vec::new();
        for (k, step) in model.steps.iter().enumerate().rev() {
            if self.is_view(k) {
                continue;
            }
            if written.first(Some(k)) {
                steps.push(self.zero_grad(k));
            }
            match self.code.field(step.layer) {
                Some(field) if field.nested => steps.extend(self.nested_backward(k, &mut written)),
                Some(_) => steps.extend(self.layer_backward(k, &mut written)),
                None => {
                    // A merge adds into each operand's gradient.
                    for a in &step.args {
                        if let Some(j) = self.root(a).filter(|&j| written.first(Some(j))) {
                            steps.push(self.zero_grad(j));
                        }
                    }
                    steps.extend(self.merge_backward(k));
                }
            }
        }
        quote!(#( #steps )*)
    }

    /// Step `k`'s backward pass through a nested model, which adds into its input's gradient.
    fn nested_backward(&self, k: usize, written: &mut Written) -> Vec<TokenStream> {
        let step = &self.code.model.steps[k];
        let field = self.code.field(step.layer).expect("a nested model's field");
        let (name, ty, x) = (&field.name, &field.ty, self.val(&step.args[0]));
        let (kept, d) = (format_ident!("k{k}"), format_ident!("d{k}"));
        let mut steps = Vec::new();
        if let Some(j) = self.root(&step.args[0]).filter(|&j| written.first(Some(j))) {
            steps.push(self.zero_grad(j));
        }
        let cast_dx = match self.grad(&step.args[0]) {
            Some(Grad::Slice(g)) => quote!(Some(::nn::tensor::cast_slice_mut(#g))),
            Some(Grad::Optional(g)) => quote!(#g.map(|d| ::nn::tensor::cast_slice_mut(d))),
            None => quote!(None),
        };
        let write = written.layer(step.layer);
        steps.push(quote! {
            for (g, d) in <#ty as ::nn::train::Trainable>::output_grad(&mut b.#kept, 0, n)
                .iter_mut()
                .zip(::nn::tensor::flatten(&b.#d[..n]))
            {
                *g += *d;
            }
            ::nn::train::Trainable::backward(
                &self.#name, level, &mut b.#kept, ::nn::tensor::cast_slice(#x), #cast_dx, &mut grads.#name, #write,
            );
        });
        steps
    }

    /// Step `k`'s backward pass through a layer: it sets its input's gradient if it is the
    /// first to write it (a tuple layer always sets its own, `e{k}`, then shares it out).
    fn layer_backward(&self, k: usize, written: &mut Written) -> Vec<TokenStream> {
        let model = self.code.model;
        let step = &model.steps[k];
        let name = &self.code.field(step.layer).expect("a layer's field").name;
        let (v, kept, d) = (format_ident!("v{k}"), format_ident!("k{k}"), format_ident!("d{k}"));
        let tuple = model.layers[step.layer].spec.takes_tuple();
        let (x, dx, set_dx) = if tuple {
            let (e, t) = (format_ident!("e{k}"), format_ident!("t{k}"));
            (quote!(&b.#t[..n]), quote!(Some(&mut b.#e[..n])), true)
        } else {
            let dx = match self.grad(&step.args[0]) {
                Some(Grad::Slice(g)) => quote!(Some(#g)),
                Some(Grad::Optional(g)) => g,
                None => quote!(None),
            };
            (self.val(&step.args[0]), dx, written.first(self.root(&step.args[0])))
        };
        let dxs = if set_dx { quote!(::nn::train::Write::Set) } else { quote!(::nn::train::Write::Add) };
        let (grads, write) = match model.layers[step.layer].spec.frozen() {
            true => (quote!(None), quote!(::nn::train::Write::Add)),
            false => (quote!(Some(&mut grads.#name)), written.layer(step.layer)),
        };
        let mut steps = vec![quote! {
            ::nn::train::Train::backward_with(
                &self.#name, level, #x, &b.#v[..n], &b.#kept[..n], &mut b.#d[..n], #dx, #grads,
                ::nn::train::Writes { grads: #write, dxs: #dxs },
            );
        }];
        if tuple {
            // The shares add into each operand's gradient.
            for a in &step.args {
                if let Some(j) = self.root(a).filter(|&j| written.first(Some(j))) {
                    steps.push(self.zero_grad(j));
                }
            }
            steps.extend(self.scatter_tuple(k));
        }
        steps
    }

    /// The step whose buffer holds the gradient of `v` (a view's is its source's); `None` for
    /// a model input, whose gradient is the caller's to add into.
    fn root(&self, v: &Value) -> Option<usize> {
        match v {
            Value::Step(k) if self.is_view(*k) => self.root(&self.code.model.steps[*k].args[0]),
            Value::Step(k) => Some(*k),
            Value::Input(_) | Value::State(..) => None,
        }
    }

    /// The steps whose gradient buffers the losses add into: the outputs'.
    fn output_roots(&self) -> Vec<usize> {
        let mut roots: Vec<usize> = self.code.model.outputs.iter().filter_map(|o| self.root(o)).collect();
        roots.sort_unstable();
        roots.dedup();
        roots
    }

    /// Zeroes step `k`'s gradient buffer, as scalars (a memset: filling with the tensor's
    /// `ZEROS` copied it in).
    fn zero_grad(&self, k: usize) -> TokenStream {
        let (ty, d) = (self.code.model.steps[k].output.ty(&self.code.t), format_ident!("d{k}"));
        quote!(::nn::tensor::flatten_mut::<#ty>(&mut b.#d[..n]).fill(::core::default::Default::default());)
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
            .filter_map(|(j, a)| match self.grad(a)? {
                Grad::Slice(dx) => {
                    spec.merge_grad(j, &vals, &shapes, &dy, &quote!(::nn::tensor::flatten_mut(#dx)))
                }
                Grad::Optional(dx) => {
                    let add =
                        spec.merge_grad(j, &vals, &shapes, &dy, &quote!(::nn::tensor::flatten_mut(dx)))?;
                    Some(quote!(if let Some(dx) = #dx { #add }))
                }
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
            if let Some(Grad::Slice(g)) = self.grad(out) {
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
            let name = &f.name;
            let nested = f
                .nested
                .then(|| quote!(::nn::train::Trainable::zip_trained(&mut self.#name, &mut grads.#name, f);));
            f.leaves
                .iter()
                .map(|leaf| {
                    let (p, g) = (f.place_in(&this, leaf), f.place_in(&grads, leaf));
                    quote!(::nn::train::zip_trained(&mut #p, &mut #g, f);)
                })
                .chain(nested)
                .collect::<Vec<_>>()
        });
        quote!(#( #calls )*)
    }
}
