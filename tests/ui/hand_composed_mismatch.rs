// Without the macro, the typed layers still refuse to compose: a rustc type error.
use nn::prelude::*;

fn main() {
    let first = Dense::<f32, 2, 3>::ZEROS;
    let second = Dense::<f32, 4, 1>::ZEROS;
    let _y = second.forward(&first.forward(&Vector2::new(1.0, 2.0)));
}
