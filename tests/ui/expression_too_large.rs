use nn::prelude::*;

fn main() {
    // 400,020,000 weights cannot be returned by value; the item form builds them on the heap.
    let _model = sequential![Input<20000>, Dense<20000>];
}
