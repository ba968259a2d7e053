use nn::prelude::*;

sequential! {
    pub struct Encoder { Input<3>, Dense<8, relu> }
}

sequential! {
    pub struct Images { Input<4, 4, 1>, Flatten }
}

fn main() {
    let _missing = functional! {
        x = Input<3>;
        encoder = Model<Encoder>;
        y = encoder(x);
    };
    // The sizes given do not match the type: rustc's check on the typed code catches it.
    let _wrong = functional! {
        x = Input<3>;
        encoder = Model<Encoder, 3, 4>;
        y = encoder(x);
    };
    let _wrong_input = functional! {
        x = Input<2>;
        encoder = Model<Encoder, 2, 8>;
        y = encoder(x);
    };
    // A model of images called on a vector, and on images of another size.
    let _wrong_shape = functional! {
        x = Input<16>;
        y = Model<Images, (4, 4, 1), 16>(x);
    };
    let _wrong_size = functional! {
        x = Input<4, 3, 1>;
        y = Model<Images, (4, 4, 1), 16>(x);
    };
}
