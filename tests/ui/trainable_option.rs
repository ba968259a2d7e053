use nn::prelude::*;

fn main() {
    // `trainable` takes `true` or `false`.
    let _number = sequential![Input<4>, Dense<8, trainable = 0>];
    // A misspelt option is suggested its spelling.
    let _typo = sequential![Input<4>, Dense<8, trainabel = false>];
}
