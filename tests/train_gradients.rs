//! Finite-difference checks of the generated backward passes, in f64: for random weights and
//! inputs, the gradient the sweep computes for `Σ r·y` (a random projection of every output)
//! matches central differences to a relative error of 1e-6, for every layer that trains and
//! for residual, siamese (shared layer), multi-output graphs.

mod gradcheck;

use gradcheck::check;
use nn::prelude::*;

sequential! {
    struct Mlp<f64> { Input<3>, Dense<6, tanh>, Dense<5, sigmoid>, Dense<4, use_bias = false>, Dense<3, softmax> }
}

#[test]
fn dense_layers_and_their_activations_match_finite_differences() {
    check(Mlp::seeded(1));
}

functional! {
    /// Every activation on its own head reading the input, as `NewActivations` below: chained,
    /// the flat pieces of the later ones (relu's zeros, hard_sigmoid's and relu6's clips) hid the
    /// earlier ones' derivatives, and a gelu derivative 2% off still passed.
    struct Activations<f64> {
        x = Input<4>;
        d0 = Dense<4>(x);
        h0 = Activation<gelu>(d0);
        d1 = Dense<4>(x);
        h1 = Activation<elu>(d1);
        d2 = Dense<4>(x);
        h2 = Activation<silu>(d2);
        d3 = Dense<4>(x);
        h3 = Activation<softplus>(d3);
        d4 = Dense<4>(x);
        h4 = Activation<selu>(d4);
        d5 = Dense<4>(x);
        h5 = Activation<mish>(d5);
        d6 = Dense<4>(x);
        h6 = Activation<softsign>(d6);
        d7 = Dense<4>(x);
        h7 = Activation<log_softmax>(d7);
        d8 = Dense<4>(x);
        h8 = Activation<exponential>(d8);
        h9 = Dense<4, gelu(approximate = true)>(x);
        h10 = Dense<4, leaky_relu(0.1)>(x);
        h11 = Dense<4, relu>(x);
        h12 = Dense<4, hard_silu>(x);
        h13 = Dense<4, hard_sigmoid>(x);
        h14 = Dense<4, relu6>(x);
        d15 = Dense<4>(x);
        h15 = ELU<0.5>(d15);
        d16 = Dense<4>(x);
        h16 = LeakyReLU(d16);
        y = Concatenate(h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13, h14, h15, h16);
    }
}

#[test]
fn every_activation_matches_finite_differences() {
    check(Activations::seeded(2));
}

functional! {
    /// The activations Keras 3 added, each on its own head reading the input: in a chain, a
    /// flat piece (`threshold`'s default value, `hard_shrink`'s zeros) would hide the
    /// derivatives before it.
    struct NewActivations<f64> {
        x = Input<4>;
        h0 = Dense<4, celu>(x);
        h1 = Dense<4, celu(0.5)>(x);
        h2 = Dense<4, hard_tanh>(x);
        h3 = Dense<4, log_sigmoid>(x);
        h4 = Dense<4, sparse_plus>(x);
        h5 = Dense<4, squareplus(b = 1.0)>(x);
        d6 = Dense<4>(x);
        h6 = Activation<tanh_shrink>(d6);
        d7 = Dense<4>(x);
        h7 = Activation<hard_shrink(0.2)>(d7);
        h8 = Dense<4, soft_shrink(threshold = 0.2)>(x);
        h9 = Dense<4, threshold(0.1, -0.5)>(x);
        y = Concatenate(h0, h1, h2, h3, h4, h5, h6, h7, h8, h9);
    }
}

#[test]
fn the_activations_keras_3_added_match_finite_differences() {
    check(NewActivations::seeded(8));
}

sequential! {
    struct Sequence<f64> { Input<3, 4>, Dense<5, tanh>, Flatten, Dense<6, sigmoid>, Reshape<(2, 3)>, Dense<2>, Activation<softmax> }
}

#[test]
fn dense_on_sequences_and_views_match_finite_differences() {
    check(Sequence::seeded(3));
}

sequential! {
    struct Einsums<f64> {
        Input<5, 6>, Dense<6, tanh>, EinsumDense<"abc,cde->abde", (5, 2, 3), bias_axes = "de", tanh>,
        EinsumDense<"abcd,cde->abe", (None, 4), bias_axes = "e">, EinsumDense<"...b,bc->...c", 3, relu>,
        Flatten, EinsumDense<"ab,bcd->acd", (2, 2), bias_axes = "cd">
    }
}

#[test]
fn einsum_dense_layers_match_finite_differences() {
    check(Einsums::seeded(9));
}

functional! {
    struct WithIdentity<f64> {
        x = Input<2, 3>;
        i = Identity(x);
        h = Dense<4, tanh>(i);
        j = Identity(h);
        k = Identity(j);
        s = Add(j, k);
        f = Flatten(s);
        y = Dense<2>(f);
    }
}

#[test]
fn identity_passes_the_gradient_through_as_a_view() {
    check(WithIdentity::seeded(4));
}

functional! {
    struct Residual<f64> {
        x = Input<4>;
        h = Dense<4, tanh>(x);
        r = Add(x, h);
        g = Dense<4, sigmoid>(r);
        a = Average(r, g, h);
        y = Dense<2>(a);
    }
}

#[test]
fn a_residual_graph_matches_finite_differences() {
    check(Residual::seeded(4));
}

functional! {
    struct Siamese<f64> {
        left = Input<3>;
        right = Input<3>;
        encoder = Dense<4, tanh>;
        a = encoder(left);
        b = encoder(right);
        d = Subtract(a, b);
        gate = Dense<4, sigmoid>(a);
        m = Multiply(a, b, gate);
        hi = Maximum(a, b);
        lo = Minimum(a, b, d);
        cosine = Dot<normalize = true>(a, b);
        dot = Dot(d, m);
        features = Concatenate(d, m, cosine, hi, lo, dot);
        score = Dense<1, sigmoid>(features);
        -> (score, cosine, m);
    }
}

#[test]
fn a_siamese_graph_with_a_shared_layer_and_three_outputs_matches_finite_differences() {
    check(Siamese::seeded(5));
}

functional! {
    struct Encoder<f64> {
        x = Input<3>;
        h = Dense<4, tanh>(x);
        g = Dense<4, sigmoid>(x);
        y = Add(h, g);
    }
}

functional! {
    /// A whole model as a layer, shared by two inputs, beside a layer reading an input directly.
    struct NestedSiamese<f64> {
        left = Input<3>;
        right = Input<3>;
        encoder = Model<Encoder, 3, 4>;
        a = encoder(left);
        b = encoder(right);
        d = Subtract(a, b);
        skip = Dense<4>(left);
        c = Concatenate(d, skip);
        y = Dense<2, softmax>(c);
    }
}

functional! {
    /// One value read by two layers that write its gradient over (a Dense and an average pool)
    /// and by a max pool that adds: whichever comes first in the reverse sweep sets it, the
    /// others add.
    struct SharedGradient<f64> {
        x = Input<5, 2>;
        h = Dense<3, tanh>(x);
        a = GlobalAveragePooling1D(h);
        m = GlobalMaxPooling1D(h);
        d = Dense<3>(h);
        p = GlobalAveragePooling1D(d);
        s = Add(a, m, p);
        y = Dense<2>(s);
    }
}

#[test]
fn a_value_whose_gradient_several_layers_write_matches_finite_differences() {
    check(SharedGradient::seeded(21));
}

sequential! {
    /// A nested model after a layer, so its input's gradient flows back.
    struct NestedInside<f64> { Input<3>, Dense<3, elu>, Model<Encoder, 3, 4>, Dense<2> }
}

sequential! {
    /// A model of sequences, into a vector.
    struct SequenceEncoder<f64> { Input<5, 2>, Conv1D<3, 2, tanh>, GlobalAveragePooling1D }
}

sequential! {
    /// A model from a vector to a sequence.
    struct SequenceDecoder<f64> { Input<3>, Dense<8, tanh>, Reshape<(4, 2)> }
}

functional! {
    /// Nested models that take and give tensors, after a layer of the outer model.
    struct NestedTensors<f64> {
        x = Input<5, 2>;
        h = Dense<2, tanh>(x);
        code = Model<SequenceEncoder, (5, 2), 3>(h);
        y = Model<SequenceDecoder, 3, (4, 2)>(code);
    }
}

#[test]
fn nested_models_match_finite_differences() {
    check(NestedSiamese::seeded(6));
    check(NestedInside::seeded(7));
    check(NestedTensors::seeded(8));
}

functional! {
    struct ConcatenateAxes<f64> {
        a = Input<3, 4>;
        b = Input<2, 4>;
        ha = Dense<3, tanh>(a);
        hb = Dense<3, tanh>(b);
        steps = Concatenate<axis = 1>(ha, hb);
        both = Concatenate<axis = -2>(steps, ha);
        out = Dense<2>(both);
    }
}

/// Concatenate on the steps of sequences: each operand's gradient is its own block of steps.
#[test]
fn concatenate_on_any_axis_matches_finite_differences() {
    check(ConcatenateAxes::seeded(12));
}

functional! {
    struct BroadcastMerges<f64> {
        a = Input<4, 3>;
        b = Input<1, 3>;
        c = Input<3>;
        ha = Dense<3, tanh>(a);
        hb = Dense<3, tanh>(b);
        hc = Dense<3, tanh>(c);
        s = Add(ha, hb);
        m = Multiply(s, hc, hb);
        x = Maximum(m, hb);
        n = Minimum(x, hc);
        v = Average(n, hb, ha);
        d = Subtract(v, hc);
        out = Dense<2>(d);
    }
}

/// Merges of shapes that broadcast: each operand's gradient summed over the positions it was
/// repeated along.
#[test]
fn broadcast_merges_match_finite_differences() {
    check(BroadcastMerges::seeded(13));
}

functional! {
    /// Every score mode, a key of its own, the causal mask, dropout, and self-attention (one
    /// value as query and value, so its gradient gathers both shares), between layers with
    /// weights.
    struct Attentions<f64> {
        a = Input<4, 3>;
        b = Input<5, 3>;
        q = Dense<3, tanh>(a);
        k = Dense<3, tanh>(b);
        v = Dense<2>(b);
        dot = Attention<use_scale = true, use_causal_mask = true>(q, v, k);
        own = Attention(q, q);
        concat = Attention<use_scale = true, score_mode = concat>(q, k);
        additive = AdditiveAttention<dropout = 0.25>(q, v, k);
        plain = AdditiveAttention<use_scale = false, use_causal_mask = true>(q, k);
        all = Concatenate(dot, own, concat, additive, plain);
        out = Dense<2>(all);
    }
}

/// Attention's backward pass through the sweep: the inputs gathered into tuples, their
/// gradients shared back out, and every score weight.
#[test]
fn attention_layers_match_finite_differences() {
    assert_eq!(Attentions::seeded(14).additive_attention.dropout, 0.25);
    check(Attentions::seeded(14));
}

functional! {
    /// MultiHeadAttention's projections, heads and join: self-attention (one value three times),
    /// causal and without biases, attention with a key of its own, and GroupQueryAttention's
    /// key and value heads shared by two query heads each, its weights dropped in training (the
    /// harness seeds every pass alike, so the mask holds still).
    struct Heads<f64> {
        a = Input<4, 3>;
        b = Input<4, 2>;
        x = Dense<3, tanh>(a);
        own = MultiHeadAttention<2, 2, use_causal_mask = true, use_bias = false>(x, x);
        cross = MultiHeadAttention<2, 3, value_dim = 2, output_shape = 4>(own, b, x);
        grouped = GroupQueryAttention<2, 4, 2, use_causal_mask = true, dropout = 0.3>(x, x);
        both = Concatenate(cross, grouped);
        out = Dense<2>(both);
    }
}

#[test]
fn multi_head_attention_matches_finite_differences() {
    // The option reaches the layer, so the check covers the dropped weights' gradient.
    assert_eq!(Heads::seeded(15).grouped_query_attention.dropout, 0.3);
    check(Heads::seeded(15));
}

functional! {
    /// MultiHeadAttention called with an attention mask given as an input: its training pass
    /// reads the mask, which gets no gradient.
    struct MaskedHeads<f64> {
        a = Input<4, 3>;
        m = Input<4, 4>;
        x = Dense<3, tanh>(a);
        y = MultiHeadAttention<2, 2>(x, x, attention_mask = m);
        out = Dense<2>(y);
    }
}

#[test]
fn multi_head_attention_with_an_attention_mask_matches_finite_differences() {
    check(MaskedHeads::seeded(16));
}

functional! {
    /// MultiHeadAttention with an output_shape of two axes, its output a rank-3 tensor.
    struct HeadsOutput2d<f64> {
        a = Input<4, 3>;
        x = Dense<3, tanh>(a);
        y = MultiHeadAttention<2, 2, output_shape = (2, 3)>(x, x);
        f = Flatten(y);
        out = Dense<2>(f);
    }
}

#[test]
fn multi_head_attention_with_a_two_axis_output_shape_matches_finite_differences() {
    check(HeadsOutput2d::seeded(17));
}
