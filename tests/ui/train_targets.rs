use nn::prelude::*;
use nn::train::Compile;
use nn::train::loss::MeanSquaredError;
use nn::train::optimizer::SGD;

sequential! { struct Regressor { Input<2>, Dense<1> } }

fn main() {
    let mut model = Regressor::seeded(0);
    let mut trainer = model.compile(SGD::default(), MeanSquaredError).unwrap();
    let x = [Vector2::new(0.0, 1.0)];
    // Targets shaped like another output: `Dense<1>` outputs one value per sample.
    let y = [Vector2::new(1.0, 0.0)];
    let _ = trainer.train_on_batch(&x, &y);
}
