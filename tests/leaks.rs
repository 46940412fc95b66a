//! No leaks: after `backward()` and dropping the loss, the graph's memory (saved tensors,
//! gradients of intermediates, the nodes themselves) is freed. A counting global allocator
//! (this binary's own) measures the bytes alive: after 100 training steps of a small CNN
//! they are back at the level of the first step, and they are measurably higher while a
//! loss (and so its graph) is alive, which shows the counter sees the graph at all. A
//! reference cycle of `Arc`s anywhere in the graph would keep it alive and fail the test.
//!
//! One test only: the counter is global, and another test running alongside would move it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use tapegrad::Tensor;
use tapegrad::nn::functional as F;
use tapegrad::nn::{Conv2d, Flatten, Linear, MaxPool2d, Module, Relu, Sequential};
use tapegrad::optim::{Optimizer, Sgd};

struct CountingAllocator;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn live() -> isize {
    LIVE_BYTES.load(Ordering::SeqCst)
}

/// A batch of 8 single-channel 12×12 images and their classes, from a SplitMix64 of the
/// test's own (the global generator is not needed).
fn batch(step: u64) -> (Tensor, Tensor) {
    let mut state = step.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xDEAD_BEEF;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let images: Vec<f32> = (0..8 * 144).map(|_| (next() >> 40) as f32 / (1u64 << 24) as f32).collect();
    let labels: Vec<f32> = (0..8).map(|_| (next() % 3) as f32).collect();
    (Tensor::from_vec(images, &[8, 1, 12, 12]).unwrap(), Tensor::from_vec(labels, &[8]).unwrap())
}

#[test]
fn training_steps_free_their_graphs_100_steps() {
    tapegrad::manual_seed(0);
    let model = Sequential::new()
        .add(Conv2d::new(1, 4, 3).unwrap())
        .add(Relu::new())
        .add(MaxPool2d::new(2))
        .add(Flatten::new())
        .add(Linear::new(4 * 5 * 5, 3));
    let mut optimizer = Sgd::builder(model.parameters(), 0.05).momentum(0.9).build().unwrap();
    let mut step = |i: u64| {
        let (x, y) = batch(i);
        optimizer.zero_grad();
        let loss = F::cross_entropy(&model.forward(&x), &y);
        loss.backward();
        optimizer.step();
        loss.item()
    };

    // Warm-up: the first steps create the gradients, the momentum buffers and rayon's
    // threads, which all stay. From then on, a step ends where it started.
    for i in 0..3 {
        step(i);
    }
    let baseline = live();
    let mut losses = Vec::new();
    for i in 3..103 {
        losses.push(step(i));
    }
    let after = live();
    assert!(losses.iter().all(|l| l.is_finite()), "training diverged: {losses:?}");
    // One leaked graph of this model is tens of kilobytes (the input, 3.2 KB of conv output
    // per sample, saved for backward, and the rest); 100 leaked graphs are megabytes.
    let growth = after - baseline;
    assert!(growth.abs() < 16 * 1024, "{growth} bytes more alive after 100 steps (baseline {baseline})");

    // While a loss is alive, so is its graph: the counter sees it, and dropping the loss
    // (after backward) gives it all back.
    let before_forward = live();
    let (x, y) = batch(1000);
    let loss = F::cross_entropy(&model.forward(&x), &y);
    loss.backward();
    let with_graph = live();
    drop((x, y));
    drop(loss);
    optimizer.zero_grad();
    let dropped = live();
    assert!(with_graph - before_forward > 20_000, "the graph held only {} bytes", with_graph - before_forward);
    assert!(
        (dropped - before_forward).abs() < 16 * 1024,
        "{} bytes still alive after dropping the loss (graph held {})",
        dropped - before_forward,
        with_graph - before_forward
    );
}
