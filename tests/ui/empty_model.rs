use nn::prelude::*;

sequential! {
    pub struct Empty {}
}

sequential! {
    struct OnlyInput { Input<3> }
}

fn main() {
    let _model = sequential![];
}
