nn::keras_model! { pub struct Missing = "tests/fixtures/keras/no_such_model.keras"; }

fn main() {}
