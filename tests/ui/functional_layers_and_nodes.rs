use nn::prelude::*;

fn main() {
    let _model = functional! {
        x = Input<2>;
        shared = Dense<2>;
        h = shared(x);
        y = h(x);
        z = Dense<2>(shared);
        -> (y, z);
    };
}
