use nn::prelude::*;

fn main() {
    let model = sequential![Input<2>, Dense<3, 4>];
    // No follow-on errors from using the model the macro refused to build.
    let _y = model.predict(&Vector2::new(1.0, 2.0));
}
