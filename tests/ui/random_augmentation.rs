use nn::prelude::*;

// Keras's image augmentations take images.
fn main() {
    let _sequence = sequential![Input<5, 4>, RandomFlip];
    let _vector = sequential![Input<8>, RandomContrast<0.2>, Dense<1>];
}

// They augment in training, which nn does not: the model predicts but does not train.
sequential! {
    #[compile(loss = mse)]
    struct Augmented { Input<4, 4, 1>, RandomFlip<horizontal>, Flatten, Dense<1> }
}
