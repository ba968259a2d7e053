//! The model the fuzz targets load weights into and run: one of each kind of weight layout the
//! loaders know (a plain layer, a convolution, BatchNormalization's moving statistics, a
//! recurrent cell's `cell/vars`, a Bidirectional wrapper's halves, attention's sublayers, an
//! Embedding over ids, a nested model's own `layers/`).

use nn::prelude::*;

sequential! {
    /// A model used as a layer of [`Fuzzed`].
    pub struct Head { Input<8>, Dense<4, relu>, Dense<3> }
}

functional! {
    /// Every weight layout the loaders read.
    pub struct Fuzzed {
        ids = Input<6>;
        x = Input<6, 4>;
        e = Embedding<5, 4>(ids);
        c = Conv1D<4, 3, padding = same>(x);
        n = BatchNormalization(c);
        s = Add(e, n);
        a = MultiHeadAttention<2, 2>(s, s);
        r = Bidirectional<GRU<2>>(a);
        m = Embedding<5, 3, mask_zero = true>(ids);
        l = LSTM<2>(m);
        j = Concatenate(r, l);
        h = hidden: Dense<8, tanh>(j);
        out = Model<Head, 8, 3>(h);
    }
}
