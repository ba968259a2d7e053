use nn::prelude::*;

fn main() {
    let _model = functional! {
        x = Input<2>;
        h = Dense<2>(x);
        h = Dense<2>(h);
    };
}
