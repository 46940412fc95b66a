//! How a convolution's work is cut up: tiles of output columns (several whole samples side
//! by side, or runs of output rows of one sample), and the per-thread scratch buffers that
//! hold a tile's column matrix. See `conv.rs` for how the tiles are used.

use std::cell::RefCell;
use std::ops::Range;

use super::conv::{ConvGeometry, MAX_COLS_ELEMENTS};

/// A block of output columns handled in one go: output rows `rows` of each sample of
/// `samples`. Either several whole samples (side by side in the column matrix) or some
/// rows of one sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Tile {
    pub samples: Range<usize>,
    pub rows: Range<usize>,
}

impl Tile {
    /// Output columns per sample.
    pub(super) fn width(&self, g: &ConvGeometry) -> usize {
        self.rows.len() * g.output[2]
    }
}

/// Cuts `samples` into tiles of at most `max_columns` output columns (but at least one
/// output row). Whole samples go side by side only on the im2col path: the direct and
/// pointwise paths read each sample's input in place.
pub(super) fn tiles(g: &ConvGeometry, samples: Range<usize>, max_columns: usize) -> Vec<Tile> {
    let (out_rows, out_len) = (g.out_rows(), g.out_len());
    let side_by_side = !g.is_direct() && !g.is_pointwise();
    let mut tiles = Vec::new();
    if max_columns >= out_len && side_by_side {
        let per_tile = (max_columns / out_len.max(1)).max(1);
        for start in samples.clone().step_by(per_tile) {
            tiles.push(Tile { samples: start..(start + per_tile).min(samples.end), rows: 0..out_rows });
        }
    } else {
        // The direct kernels' backward walks whole samples.
        let rows_per_tile = if g.is_direct() { out_rows } else { (max_columns / g.output[2].max(1)).max(1) };
        for n in samples {
            for start in (0..out_rows).step_by(rows_per_tile.max(1)) {
                tiles.push(Tile { samples: n..n + 1, rows: start..(start + rows_per_tile).min(out_rows) });
            }
        }
    }
    tiles
}

/// The largest tile width whose column matrix fits [`MAX_COLS_ELEMENTS`], in whole output
/// rows (at least one).
pub(super) fn max_tile_columns(g: &ConvGeometry) -> usize {
    let row_elements = (g.col_rows() * g.output[2]).max(1);
    (MAX_COLS_ELEMENTS / row_elements).max(1) * g.output[2]
}

/// A thread's scratch buffers: the column matrix, a tile of `dout` or of the output, and
/// the padded input (or input gradient) of [`PaddedLayout`](super::padded::PaddedLayout).
pub(super) struct Scratch {
    pub cols: Vec<f32>,
    pub tile: Vec<f32>,
    pub padded: Vec<f32>,
}

thread_local! {
    /// Per-thread scratch, kept between calls, so a training loop does not allocate (and
    /// page-fault) it each step.
    static SCRATCH: RefCell<Scratch> =
        const { RefCell::new(Scratch { cols: Vec::new(), tile: Vec::new(), padded: Vec::new() }) };
}

/// Runs `f` with this thread's scratch buffers (fresh ones if they are already in use).
pub(super) fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buffers) => f(&mut buffers),
        Err(_) => f(&mut Scratch { cols: Vec::new(), tile: Vec::new(), padded: Vec::new() }),
    })
}

/// The first `len` floats of `buffer`, grown if needed. The contents are stale: callers
/// overwrite every element they read.
pub(super) fn scratch(buffer: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
    &mut buffer[..len]
}
