use nn::prelude::*;

functional! {
    struct Options {
        q = Input<3, 4>;
        v = Input<5, 4>;
        a = MultiHeadAttention<2, 4, sliding_window = 2>(q, v);
        b = MultiHeadAttention<2, 4, use_gate = true>(q, v);
        c = MultiHeadAttention<2, 4, attention_axes = 2>(q, v);
        d = MultiHeadAttention<2, 4, output_shape = (2, 3, 4)>(q, v);
        e = MultiHeadAttention<2, 4, dropout = 1.5>(q, v);
        f = MultiHeadAttention<2>(q, v);
        out = Concatenate(a, b, c, d, e, f);
    }
}

functional! {
    struct Shapes {
        q = Input<3, 4>;
        v = Input<5, 4>;
        k = Input<6, 4>;
        flat = Input<4>;
        a = MultiHeadAttention<2, 4>(q, v, k);
        b = MultiHeadAttention<2, 4>(flat, v);
        out = Concatenate(a, b);
    }
}

fn main() {}

functional! {
    struct Grouped {
        q = Input<3, 4>;
        v = Input<5, 4>;
        w = Input<5, 6>;
        a = GroupQueryAttention<2, 6, num_key_value_heads = 4>(q, v);
        b = GroupQueryAttention<2, 4, 2>(q, w);
        out = Concatenate(a, b);
    }
}
