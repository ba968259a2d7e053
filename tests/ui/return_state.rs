use nn::prelude::*;

// A Sequential model has nowhere to put the final state.
sequential! { struct Chain { Input<6, 3>, GRU<4, return_state = true>, Dense<1> } }

// The layer returns one tensor unless asked for its state.
functional! {
    struct NoState {
        x = Input<6, 3>;
        (y, h) = GRU<4>(x);
        -> (y, h);
    }
}

// GRU has one final state; LSTM two.
functional! {
    struct TooMany {
        x = Input<6, 3>;
        (y, h, c) = GRU<4, return_state = true>(x);
        -> (y, h, c);
    }
}

// A bound state nothing reads.
functional! {
    struct Unused {
        x = Input<6, 3>;
        (y, h, c) = LSTM<4, return_state = true>(x);
        -> (y, h);
    }
}

// Bidirectional does not pass the states on yet.
sequential! { struct Both { Input<6, 3>, Bidirectional<GRU<4, return_state = true>> } }

// An initial state of the wrong size, and an LSTM given `h` without `c`.
functional! {
    struct Initial {
        x = Input<6, 3>;
        (y, h, c) = LSTM<4, return_state = true>(x);
        wrong = GRU<5>(x, h);
        half = LSTM<4>(x, h);
        -> (y, c, wrong, half);
    }
}

fn main() {}
