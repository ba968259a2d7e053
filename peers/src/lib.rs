//! Benchmarks of peer frameworks; see `benches/peers.rs`.
