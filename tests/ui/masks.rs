use nn::prelude::*;

// Layers Keras would hand a mask to, which nn does not yet.
sequential! {
    struct SoftmaxOverMask { Input<5>, Embedding<4, 3, mask_zero = true>, Softmax }
}

functional! {
    struct MergedMasks {
        ids = Input<5>;
        x = Input<5, 3>;
        e = Embedding<4, 3, mask_zero = true>(ids);
        m = Masking(x);
        top = Maximum(e, m);
    }
}

// Masking masks the steps of a sequence.
sequential! {
    struct MaskedVector { Input<4>, Masking<mask_value = 1.0> }
}


fn main() {}
