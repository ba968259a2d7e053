use nn::prelude::*;

sequential! {
    // One probability per row: categorical cross-entropy and accuracy compare classes.
    #[compile(optimizer = Adam(learning_rate = 0.01, beta_3 = 0.9), loss = categorical_crossentropy, metrics = [categorical_accuracy])]
    struct OneUnit { Input<2>, Dense<1, sigmoid> }
}

sequential! {
    #[compile(optimizer = Adamm, loss = huber(delta = true), metrics = [acuracy])]
    struct Typos { Input<2>, Dense<3, softmax> }
}

sequential! {
    #[compile(optimizer = SGD(clipnorm = 1.0, clipvalue = 0.5), loss = mse, lr = 0.1)]
    struct TwoClips { Input<2>, Dense<3> }
}

functional! {
    #[compile(loss = [mse], loss_weights = [1.0, 0.5, 2.0], metrics = [[accuracy]])]
    struct TwoOutputs {
        x = Input<2>;
        a = Dense<1>(x);
        b = Dense<1, sigmoid>(x);
        -> (a, b);
    }
}

sequential! {
    #[compile(loss = mse)]
    struct Recurrent { Input<4, 2>, GRU<3> }
}

sequential! {
    #[compile(optimizer = sgd)]
    struct NoLoss { Input<2>, Dense<1> }
}

fn main() {}
