use nn::prelude::*;

sequential! {
    #[stream]
    struct Lookahead {
        Input<16, 2>,
        Conv1D<4, 3, padding = same>,
        GRU<4, go_backwards = true, return_sequences = true>,
        Dense<1>,
    }
}

sequential! {
    #[stream]
    struct NotASequence { Input<4>, Dense<2> }
}

fn main() {}
