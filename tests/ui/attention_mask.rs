use nn::prelude::*;

functional! {
    struct WrongShape {
        q = Input<4, 6>;
        v = Input<5, 6>;
        m = Input<5, 4>;
        out = MultiHeadAttention<2, 3>(q, v, attention_mask = m);
    }
}

functional! {
    struct NotAnArgument {
        q = Input<4, 6>;
        v = Input<5, 6>;
        out = MultiHeadAttention<2, 3>(q, value = v);
    }
}

functional! {
    struct NoAttentionMaskThere {
        q = Input<4, 6>;
        v = Input<5, 6>;
        m = Input<4, 5>;
        out = Attention(q, v, attention_mask = m);
    }
}

fn main() {}

fn softmax_masks() {
    let _lower_rank = functional! { x = Input<3, 4>; m = Input<4>; y = Softmax(x, mask = m); };
    let _twice = functional! { x = Input<3, 4>; m = Input<3, 4>; y = Softmax(x, mask = m, mask = m); };
}
