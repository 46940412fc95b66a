//! Reuse of large tensor buffers from one training step to the next.
//!
//! A training loop allocates the same large buffers on every step (a convolution's output,
//! a ReLU's output and its gradient, a pooling layer's input gradient) and frees them all at
//! the end of it. glibc's `malloc` hands memory that large back to the kernel when it is
//! freed (or trims the heap it came from), so the next step takes a page fault on every
//! 4 KiB page it writes: about 20% of a LeNet-5 step on the benchmark machine (see
//! `docs/performance.md`). Here the buffers of arrays that are dropped for good are kept,
//! and handed out again to the next request of the same length.
//!
//! ```text
//! recycle(array)   an array's last owner is done with it: keep its Vec (large ones only)
//! with_capacity(n) an empty Vec with room for n floats: a kept one of capacity n, or new
//! zeroed(n)        n zeros, written into a kept Vec (or freshly allocated)
//! ```
//!
//! Only buffers of at least [`MIN_LEN`] floats and of a length that was asked for before
//! are kept, at most [`MAX_HELD`] floats in all (the oldest go first). A buffer is kept only
//! when no other array shares it, and a kept buffer is never read: every user writes it
//! (`zeroed`) or fills it (`extend`) first. The price is memory held between steps: up to
//! 16 MiB.
//! tapegrad-only: PyTorch's CPU allocator frees at once; its CUDA caching allocator keeps
//! freed blocks for reuse in the same way.

use std::sync::Mutex;

use crate::tensor::SharedArray;

/// Smallest buffer worth keeping: 16,384 floats (64 KiB). Smaller ones are served by
/// malloc's free lists without a trip to the kernel.
const MIN_LEN: usize = 1 << 14;
/// Most floats kept at once: 2²² (16 MiB).
const MAX_HELD: usize = 1 << 22;

/// Most distinct lengths remembered as asked for.
const MAX_LENGTHS: usize = 64;

/// The kept buffers and the lengths that were asked for.
struct Kept {
    /// Oldest first, each empty with its capacity intact.
    buffers: Vec<Vec<f32>>,
    /// Lengths asked for (most recent last): only buffers of these lengths are kept, since a
    /// training loop asks again for what it asked for before, and anything else would sit in
    /// the list unused.
    lengths: Vec<usize>,
}

static KEPT: Mutex<Kept> = Mutex::new(Kept { buffers: Vec::new(), lengths: Vec::new() });

fn kept() -> std::sync::MutexGuard<'static, Kept> {
    // A panic while the lock was held cannot leave the lists inconsistent (each change is
    // one push, remove or drain), so a poisoned lock is simply taken over.
    KEPT.lock().unwrap_or_else(|e| e.into_inner())
}

/// An empty `Vec` with room for `len` floats: a kept buffer of exactly that capacity when
/// there is one (no page faults), a new one otherwise.
pub(crate) fn with_capacity(len: usize) -> Vec<f32> {
    if len >= MIN_LEN {
        let mut kept = kept();
        if let Some(i) = kept.buffers.iter().rposition(|v| v.capacity() == len) {
            return kept.buffers.remove(i);
        }
        if !kept.lengths.contains(&len) {
            if kept.lengths.len() == MAX_LENGTHS {
                kept.lengths.remove(0);
            }
            kept.lengths.push(len);
        }
    }
    Vec::with_capacity(len)
}

/// `len` zeros, in a kept buffer when there is one of that capacity.
pub(crate) fn zeroed(len: usize) -> Vec<f32> {
    let mut v = with_capacity(len);
    v.resize(len, 0.0);
    v
}

/// Keeps the buffer of `array` for reuse when `array` is its last owner and it is large;
/// otherwise just drops `array` (and a shared buffer stays with its other owners).
pub(crate) fn recycle(array: SharedArray) {
    if array.len() < MIN_LEN {
        return;
    }
    if let Ok(owned) = array.try_into_owned_nocopy() {
        recycle_vec(owned.into_raw_vec_and_offset().0);
    }
}

/// [`recycle`] for an array held in a field of something being dropped (a `TensorImpl`,
/// the saved tensors of a backward node): the field is left holding an empty array. Small
/// arrays are left in place and dropped with their owner.
pub(crate) fn recycle_field(field: &mut SharedArray) {
    if field.len() >= MIN_LEN {
        let empty = SharedArray::from_shape_vec(ndarray::IxDyn(&[0]), Vec::new()).expect("an empty array");
        recycle(std::mem::replace(field, empty));
    }
}

/// Keeps `buffer` for reuse when it is large and of a length that was asked for, dropping
/// the oldest kept buffers beyond [`MAX_HELD`] floats.
fn recycle_vec(mut buffer: Vec<f32>) {
    if buffer.capacity() < MIN_LEN || buffer.capacity() > MAX_HELD {
        return;
    }
    let mut kept = kept();
    if !kept.lengths.contains(&buffer.capacity()) {
        return;
    }
    buffer.clear();
    let mut held: usize = kept.buffers.iter().map(Vec::capacity).sum::<usize>() + buffer.capacity();
    let mut evict = 0;
    while held > MAX_HELD {
        held -= kept.buffers[evict].capacity();
        evict += 1;
    }
    // The evicted buffers are freed after the lock is released.
    let evicted: Vec<Vec<f32>> = kept.buffers.drain(..evict).collect();
    kept.buffers.push(buffer);
    drop(kept);
    drop(evicted);
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn};

    /// The lists are global: the tests take turns (and use lengths of their own).
    static TURN: Mutex<()> = Mutex::new(());

    fn turn() -> std::sync::MutexGuard<'static, ()> {
        TURN.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An array of `len` floats whose length has been asked for before, as in a training
    /// loop's second step.
    fn asked_for(len: usize, value: f32) -> SharedArray {
        drop(with_capacity(len));
        ArrayD::from_elem(IxDyn(&[len]), value).into_shared()
    }

    fn is_kept(ptr: *const f32) -> bool {
        kept().buffers.iter().any(|v| v.as_ptr() == ptr)
    }

    #[test]
    fn a_recycled_buffer_comes_back_for_the_same_length_and_is_zeroed() {
        let _turn = turn();
        let len = MIN_LEN + 1;
        let a = asked_for(len, 7.0);
        let ptr = a.as_ptr();
        recycle(a);
        let v = zeroed(len);
        assert_eq!(v.as_ptr(), ptr, "the kept buffer is reused");
        assert_eq!(v.len(), len);
        assert!(v.iter().all(|&x| x == 0.0), "stale values are overwritten");
    }

    #[test]
    fn a_shared_buffer_is_never_taken_from_its_other_owner() {
        let _turn = turn();
        let len = MIN_LEN + 2;
        let a = asked_for(len, 3.0);
        let b = a.clone();
        recycle(a);
        assert!(!is_kept(b.as_ptr()));
        let v = with_capacity(len);
        assert_ne!(v.as_ptr(), b.as_ptr());
        assert!(b.iter().all(|&x| x == 3.0));
    }

    #[test]
    fn only_large_buffers_of_lengths_asked_for_are_kept_and_matched_exactly() {
        let _turn = turn();
        let small = asked_for(MIN_LEN - 1, 1.0);
        let small_ptr = small.as_ptr();
        recycle(small);
        assert!(!is_kept(small_ptr), "too small");
        let never_asked = ArrayD::from_elem(IxDyn(&[MIN_LEN + 5]), 1.0).into_shared();
        let never_asked_ptr = never_asked.as_ptr();
        recycle(never_asked);
        assert!(!is_kept(never_asked_ptr), "no one asked for this length");
        let a = asked_for(MIN_LEN + 3, 1.0);
        let ptr = a.as_ptr();
        recycle(a);
        assert!(is_kept(ptr));
        let other = with_capacity(MIN_LEN + 4);
        assert_ne!(other.as_ptr(), ptr, "another length gets a new buffer");
        let same = with_capacity(MIN_LEN + 3);
        assert_eq!(same.as_ptr(), ptr);
        assert!(!is_kept(ptr), "a buffer is handed out once");
    }

    #[test]
    fn a_field_gives_up_a_large_buffer_and_keeps_a_small_one() {
        let _turn = turn();
        let mut large = asked_for(MIN_LEN + 6, 2.0);
        let ptr = large.as_ptr();
        recycle_field(&mut large);
        assert_eq!(large.len(), 0, "the field now holds an empty array");
        assert!(is_kept(ptr));
        let mut small = asked_for(MIN_LEN - 2, 2.0);
        recycle_field(&mut small);
        assert_eq!(small.len(), MIN_LEN - 2, "a small array stays where it is");
    }

    #[test]
    fn at_most_max_held_floats_are_kept_and_the_oldest_go_first() {
        let _turn = turn();
        // Three buffers of 40% of the bound: keeping the third drops the first.
        let len = MAX_HELD / 5 * 2 + 5;
        drop(with_capacity(len));
        let buffers: Vec<Vec<f32>> = (0..3).map(|_| Vec::with_capacity(len)).collect();
        let ptrs: Vec<*const f32> = buffers.iter().map(|v| v.as_ptr()).collect();
        for v in buffers {
            recycle_vec(v);
        }
        assert!(kept().buffers.iter().map(Vec::capacity).sum::<usize>() <= MAX_HELD);
        assert_eq!(ptrs.iter().map(|&p| is_kept(p)).collect::<Vec<_>>(), [false, true, true]);
        // Leave nothing this large behind for the other tests.
        kept().buffers.retain(|v| v.capacity() != len);
    }
}
