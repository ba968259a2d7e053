use nn::prelude::*;

functional! {
    struct OneInput {
        q = Input<3, 4>;
        out = Attention(q);
    }
}

functional! {
    // The key's features must match the query's: scores are their dot products.
    struct KeyWidth {
        q = Input<3, 4>;
        v = Input<5, 2>;
        k = Input<5, 6>;
        out = Attention(q, v, k);
    }
}

functional! {
    // With no key, the value is the key.
    struct ValueWidth {
        q = Input<3, 4>;
        v = Input<5, 6>;
        out = AdditiveAttention(q, v);
    }
}

functional! {
    struct KeySteps {
        q = Input<3, 4>;
        v = Input<5, 4>;
        k = Input<6, 4>;
        out = Attention(q, v, k);
    }
}

functional! {
    struct NotSequences {
        q = Input<4>;
        v = Input<4>;
        out = Attention(q, v);
    }
}

functional! {
    struct SharedDiffers {
        q = Input<3, 4>;
        v = Input<5, 4>;
        w = Input<6, 4>;
        att = Attention;
        a = att(q, v);
        b = att(q, w);
        out = Concatenate(a, b);
    }
}

fn main() {
    let _in_sequence = sequential![Input<3, 4>, Attention];
}
