use nn::prelude::*;

fn main() {
    let _after_dense = sequential![Input<4>, Dense<4>, Embedding<10, 2>];
    let _image = sequential![Input<4, 4>, Embedding<10, 2>];
    let _mixed = functional! {
        ids = Input<4>;
        e = Embedding<10, 2>(ids);
        d = Dense<2>(ids);
        -> (e, d);
    };
}
