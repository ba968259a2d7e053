use nn::prelude::*;

sequential! {
    struct OneCell { Input<6, 3>, RNN<StackedRNNCells<GRUCell<4>>> }
}

sequential! {
    struct NotACell { Input<6, 3>, RNN<StackedRNNCells<GRUCell<4>, Dense<2>>> }
}

functional! {
    struct States {
        x = Input<6, 3>;
        (y, h) = RNN<StackedRNNCells<GRUCell<4>, GRUCell<2>>, return_state = true>(x);
    }
}

// A mask reaching a stack of cells.
sequential! {
    struct Masked { Input<6>, Embedding<4, 3, mask_zero = true>, RNN<StackedRNNCells<GRUCell<4>, GRUCell<2>>> }
}

fn main() {}
