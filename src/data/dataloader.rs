//! [`DataLoader`]: batches of a [`Dataset`], prepared on a background thread.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread::JoinHandle;

use super::Dataset;
use crate::error::{Error, Result};
use crate::random::{Generator, with_generator};
use crate::tensor::Tensor;

/// Iterates over a dataset in batches of `(inputs, targets)`. PyTorch:
/// `torch.utils.data.DataLoader(dataset, batch_size=1, shuffle=False, drop_last=False)`.
///
/// Each call to [`DataLoader::iter`] is one epoch. With `shuffle`, every epoch visits the
/// samples in a new random order (a Fisher–Yates shuffle drawn from the global generator,
/// or from the loader's own generator when built with `seed`), each sample exactly once.
/// A background thread builds the next batch while the caller trains on the current one;
/// it stops as soon as the iterator is dropped, even mid-epoch.
///
/// ```
/// use tapegrad::{Tensor, data::{DataLoader, TensorDataset}};
/// let x = Tensor::arange(0.0, 10.0, 1.0).reshape(&[10, 1]);
/// let y = Tensor::zeros(&[10]);
/// let mut loader = DataLoader::builder(TensorDataset::new(x, y).unwrap())
///     .batch_size(4).shuffle(true).seed(0).build().unwrap();
/// let sizes: Vec<usize> = loader.iter().map(|(inputs, _)| inputs.shape()[0]).collect();
/// assert_eq!(sizes, vec![4, 4, 2]);
/// ```
pub struct DataLoader<D: Dataset + 'static> {
    dataset: Arc<D>,
    batch_size: usize,
    shuffle: bool,
    drop_last: bool,
    generator: Option<Generator>,
}

/// Builds a [`DataLoader`] with PyTorch's keyword arguments and defaults. PyTorch:
/// `DataLoader(dataset, batch_size=1, shuffle=False, drop_last=False, generator=None)`.
///
/// ```
/// use tapegrad::{Tensor, data::{DataLoader, TensorDataset}};
/// let dataset = TensorDataset::new(Tensor::zeros(&[10, 3]), Tensor::zeros(&[10])).unwrap();
/// let loader = DataLoader::builder(dataset).batch_size(4).shuffle(true).seed(7).drop_last(true).build().unwrap();
/// assert_eq!(loader.len(), 2); // ⌊10 / 4⌋ with drop_last, ⌈10 / 4⌉ = 3 without
/// # let dataset = TensorDataset::new(Tensor::zeros(&[1, 1]), Tensor::zeros(&[1])).unwrap();
/// let err = DataLoader::builder(dataset).batch_size(0).build().err().unwrap();
/// assert_eq!(err.message(), "batch_size should be a positive integer value, but got batch_size=0");
/// ```
#[must_use = "a builder does nothing until .build()"]
pub struct DataLoaderBuilder<D: Dataset + 'static> {
    dataset: D,
    batch_size: usize,
    shuffle: bool,
    drop_last: bool,
    seed: Option<u64>,
}

impl<D: Dataset + 'static> DataLoaderBuilder<D> {
    /// Samples per batch. Default 1. PyTorch: `batch_size=`. Example on [`DataLoaderBuilder`].
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }
    /// Visit the samples in a new random order every epoch. Default false. PyTorch:
    /// `shuffle=`. Example on [`DataLoaderBuilder`].
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }
    /// Drop the last batch if it is smaller than `batch_size`. Default false. PyTorch:
    /// `drop_last=`. Example on [`DataLoaderBuilder`].
    pub fn drop_last(mut self, drop_last: bool) -> Self {
        self.drop_last = drop_last;
        self
    }
    /// Shuffle with a generator of the loader's own, seeded with `seed`, instead of the
    /// global one (PyTorch: `generator=torch.Generator().manual_seed(seed)`). Example on
    /// [`DataLoaderBuilder`].
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }
    /// The loader. PyTorch: the `DataLoader(dataset, ...)` call. Example on
    /// [`DataLoaderBuilder`].
    ///
    /// # Errors
    /// [`Error::Value`] for `batch_size = 0`, with PyTorch's text.
    pub fn build(self) -> Result<DataLoader<D>> {
        if self.batch_size == 0 {
            return Err(Error::Value(format!(
                "batch_size should be a positive integer value, but got batch_size={}",
                self.batch_size
            )));
        }
        Ok(DataLoader {
            dataset: Arc::new(self.dataset),
            batch_size: self.batch_size,
            shuffle: self.shuffle,
            drop_last: self.drop_last,
            generator: self.seed.map(Generator::from_seed),
        })
    }
}

impl<D: Dataset + 'static> DataLoader<D> {
    /// A builder with PyTorch's defaults (batch size 1, no shuffling, keep the last batch).
    /// PyTorch: `DataLoader(dataset, **kwargs)`. Example on [`DataLoaderBuilder`].
    pub fn builder(dataset: D) -> DataLoaderBuilder<D> {
        DataLoaderBuilder { dataset, batch_size: 1, shuffle: false, drop_last: false, seed: None }
    }

    /// The dataset. PyTorch: `loader.dataset`.
    ///
    /// ```
    /// use tapegrad::{Tensor, data::{DataLoader, Dataset, TensorDataset}};
    /// let dataset = TensorDataset::new(Tensor::zeros(&[5, 2]), Tensor::zeros(&[5])).unwrap();
    /// let loader = DataLoader::builder(dataset).batch_size(2).build().unwrap();
    /// assert_eq!((loader.dataset().len(), loader.len(), loader.is_empty()), (5, 3, false)); // ⌈5/2⌉
    /// ```
    pub fn dataset(&self) -> &D {
        &self.dataset
    }

    /// Batches per epoch: `⌈n / batch_size⌉`, or `⌊n / batch_size⌋` with `drop_last`.
    /// PyTorch: `len(loader)`. Example on [`DataLoader::dataset`].
    pub fn len(&self) -> usize {
        let n = self.dataset.len();
        if self.drop_last { n / self.batch_size } else { n.div_ceil(self.batch_size) }
    }

    /// Whether an epoch yields no batch. PyTorch: `len(loader) == 0`. Example on
    /// [`DataLoader::dataset`].
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One epoch: the sample order is drawn now, then a background thread builds batches.
    /// PyTorch: `iter(loader)` (what `for x, y in loader:` calls).
    ///
    /// ```
    /// use tapegrad::{Tensor, data::{DataLoader, TensorDataset}};
    /// let x = Tensor::arange(0.0, 5.0, 1.0).reshape(&[5, 1]);
    /// let mut loader = DataLoader::builder(TensorDataset::new(x, Tensor::zeros(&[5])).unwrap())
    ///     .batch_size(2).build().unwrap();
    /// let firsts: Vec<f32> = loader.iter().map(|(inputs, _)| inputs.to_vec()[0]).collect();
    /// assert_eq!(firsts, vec![0.0, 2.0, 4.0]); // no shuffle: samples in order
    /// ```
    pub fn iter(&mut self) -> DataLoaderIter {
        let mut order: Vec<usize> = (0..self.dataset.len()).collect();
        if self.shuffle {
            match &mut self.generator {
                Some(g) => shuffle(&mut order, g),
                None => with_generator(|g| shuffle(&mut order, g)),
            }
        }
        let batches: Vec<Vec<usize>> = order
            .chunks(self.batch_size)
            .filter(|chunk| !self.drop_last || chunk.len() == self.batch_size)
            .map(<[usize]>::to_vec)
            .collect();
        let remaining = batches.len();
        // One batch waits in the channel while the next is built: the prefetch depth.
        let (sender, receiver) = sync_channel(1);
        let dataset = Arc::clone(&self.dataset);
        let worker = std::thread::Builder::new()
            .name("tapegrad-dataloader".into())
            .spawn(move || {
                for indices in batches {
                    if sender.send(dataset.get_batch(&indices)).is_err() {
                        break; // the iterator was dropped: stop early
                    }
                }
            })
            .expect("spawning the data loader thread");
        DataLoaderIter { receiver: Some(receiver), worker: Some(worker), remaining }
    }
}

impl<D: Dataset + 'static> IntoIterator for &mut DataLoader<D> {
    type Item = (Tensor, Tensor);
    type IntoIter = DataLoaderIter;
    fn into_iter(self) -> DataLoaderIter {
        self.iter()
    }
}

/// Fisher–Yates, from the last position down: swap `i` with a uniform `j ≤ i`.
fn shuffle(order: &mut [usize], g: &mut Generator) {
    for i in (1..order.len()).rev() {
        let j = g.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
}

/// One epoch of a [`DataLoader`]: yields `(inputs, targets)` batches. PyTorch: the
/// iterator `iter(loader)` returns (`_SingleProcessDataLoaderIter`). Dropping it stops the
/// background thread, even mid-epoch. Example on [`DataLoader::iter`].
pub struct DataLoaderIter {
    receiver: Option<Receiver<(Tensor, Tensor)>>,
    worker: Option<JoinHandle<()>>,
    remaining: usize,
}

impl Iterator for DataLoaderIter {
    type Item = (Tensor, Tensor);

    fn next(&mut self) -> Option<(Tensor, Tensor)> {
        let batch = self.receiver.as_ref()?.recv().ok();
        match batch {
            Some(batch) => {
                self.remaining -= 1;
                Some(batch)
            }
            None => {
                // The worker finished (or panicked): surface a panic instead of hiding it.
                if let Some(worker) = self.worker.take()
                    && let Err(panic) = worker.join()
                {
                    std::panic::resume_unwind(panic);
                }
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for DataLoaderIter {}

impl Drop for DataLoaderIter {
    /// Closes the channel first so a worker blocked on `send` wakes up and exits, then waits
    /// for it: no thread outlives the iterator.
    fn drop(&mut self) {
        drop(self.receiver.take());
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}
