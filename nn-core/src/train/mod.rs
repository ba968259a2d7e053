//! Training: Keras's losses, metrics, optimizers and learning-rate schedules, and the
//! backward passes the macros chain into a model's reverse sweep.

pub mod loss;
pub mod metric;
pub mod optimizer;
pub mod schedule;
