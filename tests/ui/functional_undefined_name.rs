use nn::prelude::*;

fn main() {
    let _model = functional! {
        visible = Input<2>;
        hidden = Dense<2>(vsible);
    };
}
