use nn::prelude::*;

fn main() {
    let _model = functional! {
        x = Input<2>;
        unused = Input<3>;
        spare = Dense<4>;
        dead = Dense<8>(x);
        out = Dense<1>(x);
    };
}
