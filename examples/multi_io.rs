//! Two inputs and two outputs: a classifier head and a regression head on shared features.
//!
//! Run with `cargo run --example multi_io`.

use nn::prelude::*;

functional! {
    /// Takes `(sensor, settings)`, returns `(class probabilities, estimate)`.
    pub struct MultiIo {
        sensor = Input<6>;
        settings = Input<2>;
        s = Dense<8, relu>(sensor);
        c = Dense<8, relu>(settings);
        features = Concatenate(s, c);
        class = Dense<3, softmax>(features);
        estimate = Dense<1>(features);
        -> (class, estimate);
    }
}

fn main() {
    let model = MultiIo::seeded(11);
    println!("{}", model.summary());
    // Inputs and outputs are tuples, in the order of the `Input`s and of `->`.
    let sensor = SVector::<f32, 6>::new(0.1, 0.4, -0.2, 0.9, 0.0, -0.5);
    let settings = Vector2::new(1.0, 0.25);
    let (class, estimate) = model.predict(&(sensor, settings));
    println!("class = [{:.4}, {:.4}, {:.4}], estimate = {:.4}", class[0], class[1], class[2], estimate[0]);
}
