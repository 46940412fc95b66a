//! Embedding lookup, forward and backward side by side: `out[i] = weight[indices[i]]`.
//!
//! **Index tensors.** tapegrad tensors hold `f32` only, so an index tensor (class labels,
//! token ids) is an `f32` tensor whose values are whole numbers: `Tensor::from_vec(vec![2.,
//! 0., 5.], &[3])` stands for PyTorch's `torch.tensor([2, 0, 5])`. This is the crate-wide
//! convention for index inputs. Every integer up to 2²⁴ = 16,777,216 is exact in `f32`; a
//! value with a fractional part is rejected. Index tensors are never differentiated.
//!
//! ```text
//! forward:   out[i, :] = weight[idx[i], :]                    idx (*) → out (*, D)
//! backward:  grad_weight[v, :] = Σ_{i : idx[i] = v, v ≠ padding_idx} grad_out[i, :]
//! ```
//!
//! The backward is a scatter-add: a repeated index accumulates, and the `padding_idx` row
//! gets no gradient. The forward does not zero the padding row (PyTorch's `F.embedding`
//! does not either; `nn.Embedding` zeroes it once, at initialisation).

use ndarray::{ArrayD, IxDyn};

use crate::autograd::{Backward, record};
use crate::tensor::{SharedArray, Tensor};

/// The rows of a `(V, D)` table that `indices` select: output shape `indices.shape + [D]`.
/// PyTorch: `torch.embedding(weight, indices, padding_idx)` as called by `F.embedding`;
/// `padding_idx` (already in `0..V`) only stops that row's gradient. `weight` must be 2-D
/// (checked by `nn::functional::embedding`).
///
/// # Panics
/// If an index is not a whole number, or is outside `[0, V)` (PyTorch's "index out of range
/// in self").
///
/// ```
/// use tapegrad::{Tensor, ops::embedding::embedding};
/// let weight = Tensor::from_vec(vec![0., 0., 1., 1., 2., 2.], &[3, 2]).unwrap().requires_grad_(true);
/// let ids = Tensor::from_vec(vec![2., 0., 2.], &[3]).unwrap();
/// let out = embedding(&ids, &weight, None);
/// assert_eq!(out.to_vec(), vec![2., 2., 0., 0., 2., 2.]);
/// out.sum().backward();
/// assert_eq!(weight.grad().unwrap().to_vec(), vec![1., 1., 0., 0., 2., 2.]); // row 2 used twice
/// ```
#[track_caller]
pub fn embedding(indices: &Tensor, weight: &Tensor, padding_idx: Option<usize>) -> Tensor {
    let (num_embeddings, dim) = (weight.shape()[0], weight.shape()[1]);
    let rows: Vec<usize> = indices
        .data()
        .iter()
        .map(|&v| {
            assert!(
                v.fract() == 0.0,
                "embedding: indices must hold whole numbers (tapegrad's index tensors are f32 tensors of integer ids), but got {v}"
            );
            assert!(
                v >= 0.0 && (v as usize) < num_embeddings,
                "embedding: index out of range in self (index {v}, weight of shape {:?})",
                weight.shape()
            );
            v as usize
        })
        .collect();
    let table = weight.data();
    let mut out = Vec::with_capacity(rows.len() * dim);
    match table.as_slice() {
        Some(table) => rows.iter().for_each(|&r| out.extend_from_slice(&table[r * dim..][..dim])),
        None => rows.iter().for_each(|&r| out.extend(table.index_axis(ndarray::Axis(0), r).iter())),
    }
    let shape = [indices.shape(), &[dim]].concat();
    let out = ArrayD::from_shape_vec(IxDyn(&shape), out).expect("indices.shape + [D]").into_shared();
    record(out, &[weight], EmbeddingBackward { rows, num_embeddings, dim, padding_idx })
}

/// Embedding backward: scatter-add of the output gradient rows onto the rows they were read
/// from. Saved: the row of every lookup, the table's shape and the padding row.
struct EmbeddingBackward {
    rows: Vec<usize>,
    num_embeddings: usize,
    dim: usize,
    padding_idx: Option<usize>,
}

impl Backward for EmbeddingBackward {
    fn name(&self) -> &'static str {
        "EmbeddingBackward0"
    }
    fn backward(&self, grad: &SharedArray, _needs: &[bool]) -> Vec<Option<SharedArray>> {
        let dout = super::contiguous(grad);
        let mut grad_weight = vec![0.0f32; self.num_embeddings * self.dim];
        // In lookup order, so the sum for a row is the same on every run.
        for (&row, g) in self.rows.iter().zip(dout.chunks_exact(self.dim.max(1))) {
            if Some(row) != self.padding_idx {
                grad_weight[row * self.dim..][..self.dim].iter_mut().zip(g).for_each(|(w, g)| *w += g);
            }
        }
        let shape = [self.num_embeddings, self.dim];
        vec![Some(ArrayD::from_shape_vec(IxDyn(&shape), grad_weight).expect("weight shape").into_shared())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_row_is_read_but_gets_no_gradient() {
        let weight = Tensor::from_vec(vec![1., 2., 3., 4.], &[2, 2]).unwrap().requires_grad_(true);
        let ids = Tensor::from_vec(vec![1., 1., 0.], &[3, 1]).unwrap();
        let out = embedding(&ids, &weight, Some(1));
        assert_eq!(out.shape(), &[3, 1, 2]);
        assert_eq!(out.to_vec(), vec![3., 4., 3., 4., 1., 2.]);
        out.sum().backward();
        assert_eq!(weight.grad().unwrap().to_vec(), vec![1., 1., 0., 0.]);
    }

    #[test]
    #[should_panic(expected = "index out of range in self")]
    fn negative_index_is_out_of_range() {
        embedding(&Tensor::from_vec(vec![-1.], &[1]).unwrap(), &Tensor::zeros(&[2, 2]), None);
    }
}
