//! Heap allocations per inference call of each peer, counted by a `#[global_allocator]`.
//!
//! For each model (M1, M2, the CNNs kws and sensor, and gru32 in tract only) and batch size,
//! each peer's model is built and its input prepared (not counted), run 10 times to warm up (not
//! counted), then run 100 times while every `alloc`, `alloc_zeroed` and `realloc` is counted; the
//! table shows the counts and bytes divided by 100.
//! Outputs are dropped inside the counted region, as a caller's would be.
//!
//! Run with `cargo run -p nn-peers --release --bin alloc_count`.

use nn_peers::{
    Burn, BurnCnn, BurnFlex, BurnFlexCnn, Candle, CandleCnn, Cnn, Gru, Model, Ndarray, Peer, Res, Spec,
    Tract, TractCnn, TractGru, check, single_thread,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size() as u64, Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size() as u64, Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(new_size as u64, Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const WARMUP: u64 = 10;
const CALLS: u64 = 100;

/// (allocations per call, bytes per call) of `P` on `spec` at `batch`.
fn count<P: Peer>(spec: &P::Model, batch: usize) -> Res<(f64, f64)> {
    check::<P>(spec, batch)?;
    let mut p = P::new(spec, batch)?;
    let x = p.prepare(&spec.batch(batch))?;
    for _ in 0..WARMUP {
        drop(black_box(p.run(black_box(&x))));
    }
    let (a0, b0) = (ALLOCS.load(Relaxed), BYTES.load(Relaxed));
    for _ in 0..CALLS {
        drop(black_box(p.run(black_box(&x))));
    }
    let (a1, b1) = (ALLOCS.load(Relaxed), BYTES.load(Relaxed));
    Ok(((a1 - a0) as f64 / CALLS as f64, (b1 - b0) as f64 / CALLS as f64))
}

/// One table row per peer.
fn print_rows(model: &str, batch: usize, rows: &[(&str, Res<(f64, f64)>)]) {
    for (name, r) in rows {
        match r {
            Ok((a, b)) => println!("| {name:<9} | {model:<6} | {batch:>5} | {a:>18.2} | {b:>12.0} |"),
            Err(e) => println!("| {name:<9} | {model:<6} | {batch:>5} | error: {e} |"),
        }
    }
}

fn main() {
    single_thread();
    let specs = [Spec::m1(), Spec::m2()];
    let cnns = [Cnn::kws(), Cnn::sensor()];
    let gru = Gru::gru32();
    println!("Heap allocations per inference call ({CALLS} calls after {WARMUP} warm-up calls)\n");
    println!("| peer      | model  | batch | allocations / call | bytes / call |");
    println!("|-----------|--------|-------|--------------------|--------------|");
    for batch in [1, 64] {
        for spec in &specs {
            let rows = [
                (Candle::NAME, count::<Candle>(spec, batch)),
                (Tract::NAME, count::<Tract>(spec, batch)),
                (Burn::NAME, count::<Burn>(spec, batch)),
                (BurnFlex::NAME, count::<BurnFlex>(spec, batch)),
                (Ndarray::NAME, count::<Ndarray>(spec, batch)),
            ];
            print_rows(spec.name(), batch, &rows);
        }
    }
    // ndarray has no convolution, so no CNN peer.
    for batch in [1, 64] {
        for cnn in &cnns {
            let rows = [
                (CandleCnn::NAME, count::<CandleCnn>(cnn, batch)),
                (TractCnn::NAME, count::<TractCnn>(cnn, batch)),
                (BurnCnn::NAME, count::<BurnCnn>(cnn, batch)),
                (BurnFlexCnn::NAME, count::<BurnFlexCnn>(cnn, batch)),
            ];
            print_rows(cnn.name(), batch, &rows);
        }
    }
    // Only tract runs the GRU model.
    for batch in [1, 64] {
        print_rows(gru.name(), batch, &[(TractGru::NAME, count::<TractGru>(&gru, batch))]);
    }
    // Evidence for the single-thread setting: no framework started a thread pool.
    let threads = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Threads:")).map(|l| l[8..].trim().to_string()))
        .unwrap_or_else(|| "unknown".into());
    println!(
        "\nRAYON_NUM_THREADS={}; threads in this process after all runs: {threads}",
        std::env::var("RAYON_NUM_THREADS").unwrap_or_default()
    );
}
