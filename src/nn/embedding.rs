//! `Embedding`: a learnable lookup table of `num_embeddings` vectors of size
//! `embedding_dim`. PyTorch: `torch.nn.Embedding`.

use std::fmt;

use super::functional::embedding;
use super::init::normal_;
use super::module::{Module, TrainingFlag};
use super::parameter::Parameter;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// A lookup table: `forward(ids)` returns `weight[ids]`, of shape `ids.shape + [embedding_dim]`.
/// PyTorch: `nn.Embedding(num_embeddings, embedding_dim, padding_idx=None)`.
///
/// The ids are an `f32` tensor holding whole numbers (the crate's convention for index
/// tensors, see [`crate::ops::embedding`]). `weight` is `(num_embeddings, embedding_dim)`,
/// initialised as PyTorch does: `N(0, 1)`, then the `padding_idx` row set to zero. That row
/// never receives a gradient, so it stays zero under training (unless written to).
///
/// ```
/// use tapegrad::{Tensor, nn::{Embedding, Module}};
/// let emb = Embedding::new(10, 3, Some(0)).unwrap();
/// let ids = Tensor::from_vec(vec![0., 4., 9., 4.], &[2, 2]).unwrap();
/// let out = emb.forward(&ids);
/// assert_eq!(out.shape(), &[2, 2, 3]);
/// assert_eq!(out.to_vec()[..3], [0.0, 0.0, 0.0]); // the padding row is zero
/// assert_eq!(format!("{emb:?}"), "Embedding(10, 3, padding_idx=0)");
/// ```
pub struct Embedding {
    /// `(num_embeddings, embedding_dim)`.
    pub weight: Parameter,
    padding_idx: Option<usize>,
    training: TrainingFlag,
}

/// PyTorch's `padding_idx` handling: in `[-num_embeddings, num_embeddings)`, negative
/// values counting from the end.
fn resolve_padding_idx(padding_idx: Option<i64>, num_embeddings: usize) -> Result<Option<usize>> {
    let n = num_embeddings as i128; // any usize, negated without overflow
    match padding_idx.map(i128::from) {
        None => Ok(None),
        // PyTorch asserts p < n for p > 0 only, then fails to zero row 0 of an empty table.
        Some(p) if p >= n || p < -n => Err(Error::Value("Padding_idx must be within num_embeddings".into())),
        Some(p) => Ok(Some(if p < 0 { p + n } else { p } as usize)),
    }
}

impl Embedding {
    /// A table of `num_embeddings` vectors of size `embedding_dim`, drawn from `N(0, 1)`
    /// (the global generator, [`manual_seed`](crate::manual_seed)), with the `padding_idx`
    /// row (negative counts from the end) zeroed. PyTorch: `nn.Embedding(num_embeddings,
    /// embedding_dim, padding_idx=None)`.
    ///
    /// # Errors
    /// [`Error::Value`] "Padding_idx must be within num_embeddings" (PyTorch's
    /// `AssertionError`) when `padding_idx` is outside `[-num_embeddings, num_embeddings)`;
    /// [`Error::Runtime`] when the table has more elements than `usize` counts or than
    /// memory holds.
    pub fn new(num_embeddings: usize, embedding_dim: usize, padding_idx: Option<i64>) -> Result<Embedding> {
        let padding_idx = resolve_padding_idx(padding_idx, num_embeddings)?;
        let embedding = Embedding {
            weight: Parameter::new(Tensor::try_full(&[num_embeddings, embedding_dim], 0.0).map_err(|e| {
                Error::Runtime(format!("Embedding({num_embeddings}, {embedding_dim}): {}", e.message()))
            })?),
            padding_idx,
            training: TrainingFlag::default(),
        };
        embedding.reset_parameters();
        Ok(embedding)
    }

    /// A table holding a copy of `embeddings` `(num_embeddings, embedding_dim)`, trainable
    /// unless `freeze`. The padding row is **not** zeroed (as in PyTorch). PyTorch:
    /// `nn.Embedding.from_pretrained(embeddings, freeze=True, padding_idx=None)`.
    ///
    /// # Errors
    /// [`Error::Value`] when `embeddings` is not 2-D ("Embeddings parameter is expected to
    /// be 2-dimensional") or `padding_idx` is out of range.
    ///
    /// ```
    /// use tapegrad::{Tensor, nn::{Embedding, Module}};
    /// let table = Tensor::from_vec(vec![1., 2., 3., 4.], &[2, 2]).unwrap();
    /// let emb = Embedding::from_pretrained(&table, true, None).unwrap();
    /// assert!(!emb.weight.requires_grad());
    /// assert_eq!(emb.forward(&Tensor::from_vec(vec![1.], &[1]).unwrap()).to_vec(), vec![3., 4.]);
    /// ```
    pub fn from_pretrained(embeddings: &Tensor, freeze: bool, padding_idx: Option<i64>) -> Result<Embedding> {
        if embeddings.dim() != 2 {
            return Err(Error::Value("Embeddings parameter is expected to be 2-dimensional".into()));
        }
        let padding_idx = resolve_padding_idx(padding_idx, embeddings.shape()[0])?;
        let weight = Parameter::new(Tensor::from(embeddings.to_array())).requires_grad_(!freeze);
        Ok(Embedding { weight, padding_idx, training: TrainingFlag::default() })
    }

    /// Re-draws `weight` from `N(0, 1)` and zeroes the `padding_idx` row, as PyTorch's
    /// `nn.Embedding.reset_parameters()` (`init.normal_` then `_fill_padding_idx_with_zero`).
    ///
    /// ```
    /// use tapegrad::{Tensor, nn::Embedding};
    /// let table = Tensor::ones(&[3, 2]);
    /// let emb = Embedding::from_pretrained(&table, false, Some(1)).unwrap();
    /// emb.reset_parameters();
    /// assert_eq!(emb.weight.to_vec()[2..4], [0.0, 0.0]); // row 1, the padding row
    /// ```
    pub fn reset_parameters(&self) {
        normal_(&self.weight, 0.0, 1.0);
        if let Some(row) = self.padding_idx {
            self.weight.with_data_mut(|d| d.index_axis_mut(ndarray::Axis(0), row).fill(0.0));
        }
    }

    /// `num_embeddings` (V). PyTorch: `emb.num_embeddings`. Like the getters below, it
    /// returns the constructor argument:
    ///
    /// ```
    /// use tapegrad::nn::Embedding;
    /// let emb = Embedding::new(10, 3, Some(-1)).unwrap();
    /// assert_eq!((emb.num_embeddings(), emb.embedding_dim(), emb.padding_idx()), (10, 3, Some(9)));
    /// ```
    pub fn num_embeddings(&self) -> usize {
        self.weight.shape()[0]
    }
    /// `embedding_dim` (D). PyTorch: `emb.embedding_dim`. Example on
    /// [`Embedding::num_embeddings`].
    pub fn embedding_dim(&self) -> usize {
        self.weight.shape()[1]
    }
    /// `padding_idx`, made non-negative as PyTorch stores it. PyTorch: `emb.padding_idx`.
    /// Example on [`Embedding::num_embeddings`].
    pub fn padding_idx(&self) -> Option<usize> {
        self.padding_idx
    }
}

impl Module for Embedding {
    /// `F.embedding(input, weight, padding_idx)`: `input` holds integer ids as `f32`.
    ///
    /// # Panics
    /// On an id that is not a whole number in `[0, num_embeddings)` ("index out of range in
    /// self").
    #[track_caller]
    fn forward(&self, input: &Tensor) -> Tensor {
        embedding(input, &self.weight, self.padding_idx.map(|p| p as i64))
    }

    fn named_parameters(&self) -> Vec<(String, Parameter)> {
        vec![("weight".to_string(), self.weight.clone())]
    }

    fn train(&self, mode: bool) {
        self.training.set(mode);
    }

    fn is_training(&self) -> bool {
        self.training.get()
    }
}

impl fmt::Debug for Embedding {
    /// PyTorch's repr: `Embedding(10, 3)` or `Embedding(10, 3, padding_idx=0)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Embedding({}, {}", self.num_embeddings(), self.embedding_dim())?;
        if let Some(p) = self.padding_idx {
            write!(f, ", padding_idx={p}")?;
        }
        write!(f, ")")
    }
}
