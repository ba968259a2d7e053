use nn::prelude::*;

sequential! {
    struct Small { Input<2>, Dense<1> }
}

// The file holds the 33 weights of a 2-8-1 model, not this model's 3: a compile error.
static MODEL: Small = Small::from_bytes(include_bytes!("../fixtures/xor.nnw"));

fn main() {
    let _ = MODEL.predict(&Vector2::new(1.0, 0.0));
}
