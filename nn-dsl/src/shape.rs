//! Tensor shapes in the IR: rank 1 to 5 without the batch axis, in Keras's order (channels last).

use proc_macro2::TokenStream;
use quote::quote;
use std::fmt;

/// The largest rank a tensor may have (without the batch axis): `(frames, depth, height, width,
/// channels)`.
pub const MAX_RANK: usize = 5;

/// A shape: `[features]`, `[steps, channels]`, `[height, width, channels]`, `[depth, height,
/// width, channels]` or `[frames, depth, height, width, channels]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape(pub Vec<usize>);

impl Shape {
    pub fn vector(n: usize) -> Shape {
        Shape(vec![n])
    }

    pub fn rank(&self) -> usize {
        self.0.len()
    }

    /// The size of the last axis (features or channels).
    pub fn last(&self) -> usize {
        self.0.last().copied().unwrap_or(0)
    }

    /// The most values a tensor or a layer's weights may hold: an array of `f64` is at most
    /// `isize::MAX` bytes.
    pub const MAX_VALUES: usize = isize::MAX as usize / 8;

    /// The number of elements, or `usize::MAX` where their count overflows (which
    /// [`Shape::too_large`] refuses before any layer's type is written).
    pub fn len(&self) -> usize {
        self.0.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).unwrap_or(usize::MAX)
    }

    /// Why nn cannot hold a tensor of this shape, if it cannot (`which holds ...`): more values
    /// than an array of `f64` may have (`isize::MAX` bytes).
    pub fn too_large(&self) -> Option<String> {
        let values = self.0.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        match values {
            Some(n) if n <= Shape::MAX_VALUES => None,
            Some(n) => Some(format!(
                "which holds {n} values, more than an array can (at most {})",
                Shape::MAX_VALUES
            )),
            None => Some("which holds more values than fit in a `usize`".to_string()),
        }
    }

    /// The leading axes (all but the last).
    pub fn lead(&self) -> &[usize] {
        &self.0[..self.0.len().saturating_sub(1)]
    }

    /// The same leading axes with `n` on the last.
    pub fn with_last(&self, n: usize) -> Shape {
        let mut dims = self.0.clone();
        if let Some(last) = dims.last_mut() {
            *last = n;
        }
        Shape(dims)
    }

    /// nn-core's type for a tensor of this shape over `t`.
    pub fn ty(&self, t: &TokenStream) -> TokenStream {
        match self.0.as_slice() {
            [n] => quote!(::nn::nalgebra::SVector<#t, #n>),
            [s, c] => quote!(::nn::tensor::Tensor2<#t, #s, #c>),
            [h, w, c] => quote!(::nn::tensor::Tensor3<#t, #h, #w, #c>),
            [d, h, w, c] => quote!(::nn::tensor::Tensor4<#t, #d, #h, #w, #c>),
            [f, d, h, w, c] => quote!(::nn::tensor::Tensor5<#t, #f, #d, #h, #w, #c>),
            // Ranks are checked when shapes are made; this arm is never taken.
            _ => quote!(()),
        }
    }

    /// nn-core's `Lead` marker for the leading axes, for layers acting on the last axis.
    pub fn lead_ty(&self) -> TokenStream {
        match self.lead() {
            [] => quote!(::nn::tensor::One),
            [s] => quote!(::nn::tensor::Steps<#s>),
            [h, w] => quote!(::nn::tensor::Grid<#h, #w>),
            [d, h, w] => quote!(::nn::tensor::Volume<#d, #h, #w>),
            [f, d, h, w] => quote!(::nn::tensor::Frames<#f, #d, #h, #w>),
            _ => quote!(()),
        }
    }

    /// The dimensions as a list of literals, for `&[...]` in generated code.
    pub fn dims(&self) -> TokenStream {
        let dims = &self.0;
        quote!(#(#dims),*)
    }

    /// Keras's printed shape with the batch axis, `(None, 13, 13, 8)`.
    pub fn keras(&self) -> String {
        let dims: Vec<String> = self.0.iter().map(usize::to_string).collect();
        format!("(None, {})", dims.join(", "))
    }
}

impl fmt::Display for Shape {
    /// As Keras prints a layer's shape, the batch axis first: `(None, 5)`, `(None, 2, 5, 4)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dims: Vec<String> = self.0.iter().map(usize::to_string).collect();
        write!(f, "(None, {})", dims.join(", "))
    }
}
