use nn::prelude::*;

// Bidirectional wraps a recurrent layer.
sequential! { struct NotRecurrent { Input<6, 3>, Bidirectional<Dense<4>> } }

// An unknown merge mode.
sequential! { struct BadMode { Input<6, 3>, Bidirectional<GRU<4>, merge_mode = max> } }

// The wrapped layer's own mistakes are reported at its tokens.
sequential! { struct InnerMistake { Input<5, 4>, TimeDistributed<Dense<3, tanhh>> } }

// TimeDistributed needs a sequence.
sequential! { struct NotASequence { Input<4>, TimeDistributed<Dense<3>> } }

// The wrapped layer's declared input is each step's size.
sequential! { struct StepSize { Input<5, 4>, TimeDistributed<Dense<3, 2>> } }

// A wrapper takes a layer.
sequential! { struct NotALayer { Input<5, 4>, TimeDistributed<3> } }

// The backward half cannot run one step at a time.
sequential! {
    #[stream]
    struct Streamed { Input<6, 3>, Bidirectional<GRU<4, return_sequences = true>>, Dense<1> }
}

fn main() {}
