//! Heap allocations per training step of each training peer (and of the hand-written steps),
//! counted by a `#[global_allocator]`: the digits MLP and the KWS CNN of `benches/train.rs`,
//! batch 32, one table each.
//!
//! Each is built and its batches prepared (not counted), takes 10 warm-up steps (not counted),
//! then 100 steps, batch after batch of its task's data, while every `alloc`,
//! `alloc_zeroed` and `realloc` is counted; the table shows the counts and bytes divided by 100,
//! and the most heap memory live at once during those steps beyond what was live before them
//! (the memory a step works in, beyond the model and optimizer state it keeps). nn's
//! `train_on_batch` allocates nothing after its first call (`tests/zero_alloc.rs`); its memory
//! is `Trainer::memory`, which `benches/train.rs` prints.
//!
//! Run with `cargo run -p nn-peers --release --bin train_alloc_count`.

use nn_peers::hand_train::{self as hand, HandArrays, HandNalgebra};
use nn_peers::hand_train_kws::{KwsHandArrays, KwsHandNalgebra};
use nn_peers::train::{
    BurnFlexKwsTrain, BurnFlexTrain, BurnKwsTrain, BurnTrain, CandleKwsTrain, CandleTrain, Digits, Kws, LR,
    Task, TrainPeer, check_train,
};
use nn_peers::{Res, single_thread};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);
static LIVE: AtomicU64 = AtomicU64::new(0);
static PEAK: AtomicU64 = AtomicU64::new(0);

fn grow(size: usize) {
    let live = LIVE.fetch_add(size as u64, Relaxed) + size as u64;
    PEAK.fetch_max(live, Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size() as u64, Relaxed);
        grow(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size() as u64, Relaxed);
        grow(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(new_size as u64, Relaxed);
        LIVE.fetch_sub(layout.size() as u64, Relaxed);
        grow(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as u64, Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const WARMUP: usize = 10;
const STEPS: usize = 100;

/// (allocations per step, bytes per step, peak live bytes beyond those before the steps).
fn count(mut step: impl FnMut(usize)) -> (f64, f64, u64) {
    for i in 0..WARMUP {
        step(i);
    }
    let (a0, b0, live0) = (ALLOCS.load(Relaxed), BYTES.load(Relaxed), LIVE.load(Relaxed));
    PEAK.store(live0, Relaxed);
    for i in WARMUP..WARMUP + STEPS {
        step(i);
    }
    let (a1, b1, peak) = (ALLOCS.load(Relaxed), BYTES.load(Relaxed), PEAK.load(Relaxed));
    ((a1 - a0) as f64 / STEPS as f64, (b1 - b0) as f64 / STEPS as f64, peak - live0)
}

fn peer<P: TrainPeer>(data: &[(Vec<f32>, Vec<u32>)]) -> Res<(f64, f64, u64)> {
    check_train::<P>()?;
    let mut p = P::new(&P::Task::start())?;
    let batches: Vec<P::Batch> = data.iter().map(|(x, y)| p.prepare(x, y)).collect::<Res<_>>()?;
    Ok(count(|i| _ = black_box(p.step(&batches[i % batches.len()]))))
}

fn row(name: &str, r: Res<(f64, f64, u64)>) {
    match r {
        Ok((a, b, peak)) => println!("| {name:<13} | {a:>18.2} | {b:>12.0} | {peak:>15} |"),
        Err(e) => println!("| {name:<13} | error: {e} |"),
    }
}

/// The table's title and header.
fn header<T: Task>() {
    println!(
        "Heap allocations per training step, {}, batch {} ({STEPS} steps after {WARMUP} warm-up steps)\n",
        T::TITLE,
        hand::BATCH
    );
    println!("| peer          | allocations / step | bytes / step | peak live bytes |");
    println!("|---------------|--------------------|--------------|-----------------|");
}

fn main() {
    single_thread();
    let data = Digits::batches();
    header::<Digits>();
    let start = Digits::start();
    let mut na = HandNalgebra::from_flat(&start, hand::Adam::new(LR as f32));
    let na_batches: Vec<_> = data.iter().map(|(x, _)| HandNalgebra::batch(x)).collect();
    let n = data.len();
    row("hand_nalgebra", Ok(count(|i| _ = black_box(na.step(&na_batches[i % n], &data[i % n].1)))));
    let mut ar = HandArrays::from_flat(&start, hand::Adam::new(LR as f32));
    row("hand_arrays", Ok(count(|i| _ = black_box(ar.step(&data[i % n].0, &data[i % n].1)))));
    row(CandleTrain::NAME, peer::<CandleTrain>(&data));
    row(BurnTrain::NAME, peer::<BurnTrain>(&data));
    row(BurnFlexTrain::NAME, peer::<BurnFlexTrain>(&data));

    let data = Kws::batches();
    println!();
    header::<Kws>();
    let start = Kws::start();
    let n = data.len();
    let mut na = KwsHandNalgebra::from_flat(&start, hand::Adam::new(LR as f32));
    row("hand_nalgebra", Ok(count(|i| _ = black_box(na.step(&data[i % n].0, &data[i % n].1)))));
    let mut ar = KwsHandArrays::from_flat(&start, hand::Adam::new(LR as f32));
    row("hand_arrays", Ok(count(|i| _ = black_box(ar.step(&data[i % n].0, &data[i % n].1)))));
    row(CandleKwsTrain::NAME, peer::<CandleKwsTrain>(&data));
    row(BurnKwsTrain::NAME, peer::<BurnKwsTrain>(&data));
    row(BurnFlexKwsTrain::NAME, peer::<BurnFlexKwsTrain>(&data));

    let threads = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Threads:")).map(|l| l[8..].trim().to_string()))
        .unwrap_or_else(|| "unknown".into());
    println!(
        "\nRAYON_NUM_THREADS={}; threads in this process after all runs: {threads}",
        std::env::var("RAYON_NUM_THREADS").unwrap_or_default()
    );
}
