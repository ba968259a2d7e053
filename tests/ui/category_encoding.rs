use nn::prelude::*;

fn main() {
    let _mode = sequential![Input<4>, CategoryEncoding<5, output_mode = tf_idf>];
    let _sparse = sequential![Input<4>, CategoryEncoding<5, sparse = true>];
    let _rank = sequential![Input<2, 3>, CategoryEncoding<5>];
    let _after = sequential![Input<4>, Dense<3>, CategoryEncoding<5>];
}
