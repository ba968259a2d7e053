// A Keras layer nn does not support yet is a compile error naming it. (The path is relative
// to trybuild's project, in target/tests/trybuild/nn.)
nn::keras_model! { pub struct Normalized = "../../../../tests/fixtures/keras/unsupported.keras"; }

fn main() {}
