use nn::prelude::*;

fn main() {
    // A misspelt initializer is suggested its spelling.
    let _typo = sequential![Input<4>, Dense<8, kernel_initializer = he_normall>];
    // Keras's class names are written as its snake-case names.
    let _class = sequential![Input<4>, Dense<8, kernel_initializer = HeNormal>];
    // Far from every name: the list of them.
    let _unknown = sequential![Input<4>, Dense<8, bias_initializer = xavier>];
    // Options by Keras's names, numbers only; Keras's `seed` is not taken.
    let _option = sequential![Input<4>, Dense<8, kernel_initializer = orthogonal(gian = 2.0)>];
    let _seed = sequential![Input<4>, Dense<8, kernel_initializer = he_normal(seed = 1)>];
    let _value = sequential![Input<4>, Dense<8, bias_initializer = constant(true)>];
    // A bias is a vector, which `orthogonal` cannot fill.
    let _bias = sequential![Input<4>, Dense<8, bias_initializer = orthogonal>];
    // An initializer, not a number.
    let _number = sequential![Input<4>, Dense<8, kernel_initializer = 0.5>];
    // A misspelt option of the layer.
    let _param = sequential![Input<4>, Dense<8, kernel_initialiser = he_normal>];
}
