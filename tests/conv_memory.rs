//! Convolution's scratch memory is bounded: a forward + backward on a large batch never
//! builds the column matrix of the whole batch. A counting global allocator (this test
//! binary's own) records the peak of live heap bytes; the test prints it relative to the
//! tensors the convolution must hold anyway and checks it against the documented bound
//! (`tapegrad::ops::conv::MAX_COLS_ELEMENTS` floats of column matrix per thread, plus a
//! tile of the output or of `dout`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use tapegrad::Tensor;
use tapegrad::nn::functional as F;
use tapegrad::ops::conv::MAX_COLS_ELEMENTS;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; the counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
        PEAK.fetch_max(live, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            let live = LIVE.fetch_add(new_size - layout.size(), Ordering::SeqCst) + new_size - layout.size();
            PEAK.fetch_max(live, Ordering::SeqCst);
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Ordering::SeqCst);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const F32: usize = std::mem::size_of::<f32>();

/// The counters are global: one measurement at a time.
static MEASURING: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn conv_forward_backward_peak_memory_is_bounded_per_thread() {
    let _one_at_a_time = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let (n, c, o, h, w, k) = (64usize, 16usize, 32usize, 32usize, 32usize, 3usize);
    let x = Tensor::randn(&[n, c, h, w]).requires_grad_(true);
    let weight = Tensor::randn(&[o, c, k, k]).requires_grad_(true);
    let bias = Tensor::randn(&[o]).requires_grad_(true);
    // One run to let each thread grow its scratch buffers, and rayon start its threads.
    F::conv2d(&x, &weight, Some(&bias), 1, 1, 1, 1).sum().backward();
    x.zero_grad();
    weight.zero_grad();
    bias.zero_grad();

    let baseline = LIVE.load(Ordering::SeqCst);
    PEAK.store(baseline, Ordering::SeqCst);
    let y = F::conv2d(&x, &weight, Some(&bias), 1, 1, 1, 1);
    let grad_out = Tensor::ones(y.shape());
    y.backward_with(&grad_out);
    let peak = PEAK.load(Ordering::SeqCst) - baseline;

    // What the convolution must hold anyway: the output, its gradient, and the gradients
    // of input, weight and bias.
    let tensors = (n * o * h * w * 2 + n * c * h * w + o * c * k * k + o) * F32;
    let whole_batch_columns = c * k * k * n * h * w * F32;
    let threads = rayon::current_num_threads();
    // Per thread: the column matrix of one tile, and one tile of dout (Og × tile columns).
    let tile_columns = MAX_COLS_ELEMENTS / (c * k * k);
    let scratch_bound = threads * (MAX_COLS_ELEMENTS + o * tile_columns) * F32;
    // Partial weight gradients: at most 16.
    let partials = 16 * o * c * k * k * F32;
    println!(
        "conv2d fwd+bwd, batch {n}: peak {:.1} MB above the inputs = {:.2}× the tensors it returns ({:.1} MB); \
         the whole batch's column matrix would be {:.1} MB; bound {:.1} MB",
        peak as f64 / 1e6,
        peak as f64 / tensors as f64,
        tensors as f64 / 1e6,
        whole_batch_columns as f64 / 1e6,
        (tensors + scratch_bound + partials) as f64 / 1e6,
    );
    assert!(
        peak <= tensors + scratch_bound + partials + (1 << 20),
        "peak {peak} B above the documented bound: tensors {tensors} + scratch {scratch_bound} + partials {partials}"
    );
    assert!(peak < tensors + whole_batch_columns / 2, "the column matrix of the whole batch seems to be built");
}

#[test]
fn an_atrous_kernel_on_a_tiny_input_builds_no_padded_plane() {
    // 4 channels of 1×1 with a 10×10 kernel, dilation 500 and padding 2500: a 501×501
    // output, but a padded copy of 5000×5000 floats per channel (found in review: 1.2 GB
    // and 45 s before im2col learnt to skip the copy when it does not pay).
    let _one_at_a_time = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let x = Tensor::randn(&[1, 4, 1, 1]).requires_grad_(true);
    let weight = Tensor::randn(&[1, 4, 10, 10]).requires_grad_(true);
    let baseline = LIVE.load(Ordering::SeqCst);
    PEAK.store(baseline, Ordering::SeqCst);
    let y = F::conv2d(&x, &weight, None, 1, 2500, 500, 1);
    assert_eq!(y.shape(), &[1, 1, 501, 501]);
    y.sum().backward();
    let peak = PEAK.load(Ordering::SeqCst) - baseline;
    // The output and its gradient, plus per thread a column tile, a dout tile and at
    // most twice a column tile of padded copy (scratch that grows during this run).
    let tensors = 2 * 501 * 501 * F32;
    let bound = tensors + rayon::current_num_threads() * 4 * MAX_COLS_ELEMENTS * F32 + (1 << 20);
    println!("atrous conv2d fwd+bwd: peak {:.1} MB, bound {:.1} MB", peak as f64 / 1e6, bound as f64 / 1e6);
    assert!(peak <= bound, "peak {peak} B above {bound} B");
    assert!(x.grad().unwrap().to_vec().iter().all(|v| v.is_finite()));
}
