use nn::prelude::*;

functional! {
    struct OutOfRange {
        a = Input<3, 4>;
        b = Input<3, 4>;
        c = Concatenate<axis = 3>(a, b);
    }
}

functional! {
    struct Mismatch {
        a = Input<3, 4>;
        b = Input<2, 5>;
        c = Concatenate<axis = 1>(a, b);
    }
}

fn main() {}
