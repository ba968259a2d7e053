use nn::prelude::*;

sequential! {
    pub struct Encoder { Input<3>, Dense<8, relu> }
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
}
