use nn::prelude::*;

functional! {
    struct Nothing {}
}

fn main() {
    let _inputs_only = functional! { x = Input<2>; };
}
