//! Element counts and allocations that fail with an error instead of aborting: tensor
//! shapes come from files, arguments and paddings, so their sizes must be checked before
//! memory is asked for.

use crate::error::{Error, Result};

/// The elements of `shape`, all `value`, or an error when their count overflows or the
/// memory cannot be had: what PyTorch reports as "DefaultCPUAllocator: not enough memory",
/// where `vec![value; n]` would abort the process.
pub(crate) fn try_filled(shape: &[usize], value: f32) -> Result<Vec<f32>> {
    let mut data = reserve(shape)?;
    data.resize(checked_numel(shape)?, value);
    Ok(data)
}

/// Checks that a tensor of `shape` can be allocated, before an op whose output size comes
/// from its arguments (a padding, an output size) allocates it with ndarray, which would
/// abort the process on failure. Reserving without writing costs no memory, but it is still
/// a round trip to the OS (mmap and munmap), so sizes under 1 GiB, which ops reach on every
/// training step, are only checked for overflow.
pub(crate) fn check_allocation(shape: &[usize]) -> Result<()> {
    const ALWAYS_ALLOCATABLE: usize = (1 << 30) / std::mem::size_of::<f32>();
    if checked_numel(shape)? < ALWAYS_ALLOCATABLE {
        return Ok(());
    }
    reserve(shape).map(drop)
}

/// An empty `Vec` with room for the elements of `shape`.
fn reserve(shape: &[usize]) -> Result<Vec<f32>> {
    let numel = checked_numel(shape)?;
    let mut data = Vec::new();
    data.try_reserve_exact(numel).map_err(|_| {
        Error::Runtime(format!(
            "not enough memory: you tried to allocate {} bytes for a tensor of shape {shape:?}",
            numel * std::mem::size_of::<f32>()
        ))
    })?;
    Ok(data)
}

/// The element count of `shape`, or an error when it overflows `usize`.
///
/// The product of the non-zero sizes must also fit in `isize` bytes of `f32`: ndarray
/// rejects larger shapes even when a zero size makes them empty (`[0, 2⁶², 2⁶²]`), and
/// any op that reduced over the empty dim would have to allocate that product.
pub(crate) fn checked_numel(shape: &[usize]) -> Result<usize> {
    let max = isize::MAX as usize / std::mem::size_of::<f32>();
    let nonzero = shape
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::Shape(format!("the number of elements of shape {shape:?} overflows usize")))?;
    if nonzero > max {
        return Err(Error::Shape(format!(
            "shape {shape:?} has too many elements ({nonzero} without its zero sizes) to allocate: at most {max}"
        )));
    }
    Ok(if shape.contains(&0) { 0 } else { nonzero })
}
