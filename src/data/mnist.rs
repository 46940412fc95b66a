//! MNIST (and any data set in its IDX layout, such as the bundled 8×8 digits).

use std::path::{Path, PathBuf};

use super::Dataset;
use super::idx::read_idx;
use crate::error::{Error, Result};
use crate::tensor::{Tensor, checked_numel};

/// Images and labels in MNIST's IDX files. PyTorch: `torchvision.datasets.MNIST`.
///
/// Each sample is `(image, label)`: the image a `(1, rows, cols)` tensor of
/// `(pixel/255 − mean)/std` (`ToTensor()` then `Normalize(mean, std)`; without
/// [`Mnist::normalize`] just `pixel/255`), the label a 0-d tensor holding the class.
///
/// ```
/// use tapegrad::data::{Dataset, Mnist};
/// let test = Mnist::load("data/digits", false).unwrap();
/// assert_eq!(test.len(), 360);
/// let (image, label) = test.get(0);
/// assert_eq!(image.shape(), &[1, 8, 8]);
/// assert!((0.0..10.0).contains(&label.item()));
/// ```
#[derive(Debug, Clone)]
pub struct Mnist {
    images: Vec<u8>,
    labels: Vec<u8>,
    rows: usize,
    cols: usize,
    mean: f32,
    std: f32,
}

/// MNIST's mean and standard deviation of `pixel/255` over the training set, the values
/// used by PyTorch's MNIST examples: `Normalize((0.1307,), (0.3081,))`.
///
/// ```
/// use tapegrad::data::{Dataset, Mnist, MNIST_MEAN_STD};
/// let (mean, std) = MNIST_MEAN_STD;
/// let digits = Mnist::load("data/digits", false).unwrap().normalize(mean, std);
/// let (image, _) = digits.get(0);
/// let p = digits.pixels(0)[0] as f32; // the first pixel, 0..=255
/// assert!((image.to_vec()[0] - (p / 255.0 - mean) / std).abs() < 1e-6);
/// ```
pub const MNIST_MEAN_STD: (f32, f32) = (0.1307, 0.3081);

fn find(dir: &Path, stem: &str) -> Result<PathBuf> {
    for name in [format!("{stem}.gz"), stem.to_string()] {
        let path = dir.join(name);
        if path.is_file() {
            return Ok(path);
        }
    }
    Err(Error::Io(format!("{}: neither {stem}.gz nor {stem} found", dir.display())))
}

impl Mnist {
    /// Loads the training (`train = true`: `train-images-idx3-ubyte`,
    /// `train-labels-idx1-ubyte`) or test (`t10k-...`) split from `dir`, each file gzipped
    /// (`.gz`) or not. PyTorch: `torchvision.datasets.MNIST(root, train=train,
    /// transform=ToTensor())`, without `download`.
    ///
    /// ```
    /// use tapegrad::data::{Dataset, Mnist};
    /// let test = Mnist::load("data/digits", false).unwrap();
    /// let (image, _) = test.get(0);
    /// assert!(image.to_vec().iter().all(|v| (0.0..=1.0).contains(v))); // pixel/255
    /// assert!(Mnist::load("no/such/dir", true).is_err());
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`] naming the file and the problem: missing, malformed (see
    /// [`read_idx`](super::read_idx)), images that are not 3-d, labels that are not 1-d,
    /// image and label counts that differ, a label above 255, or images too large for a
    /// tensor (possible when there are none: `[0, 2³²−1, 2³²−1]`).
    pub fn load(dir: impl AsRef<Path>, train: bool) -> Result<Mnist> {
        let dir = dir.as_ref();
        let prefix = if train { "train" } else { "t10k" };
        let images_path = find(dir, &format!("{prefix}-images-idx3-ubyte"))?;
        let labels_path = find(dir, &format!("{prefix}-labels-idx1-ubyte"))?;
        let images = read_idx(&images_path)?;
        let labels = read_idx(&labels_path)?;
        if images.shape.len() != 3 {
            return Err(Error::Io(format!(
                "{}: expected 3 dims (count, rows, cols), found shape {:?}",
                images_path.display(),
                images.shape
            )));
        }
        if labels.shape.len() != 1 {
            return Err(Error::Io(format!(
                "{}: expected 1 dim (count), found shape {:?}",
                labels_path.display(),
                labels.shape
            )));
        }
        if images.shape[0] != labels.shape[0] {
            return Err(Error::Io(format!(
                "{} holds {} images but {} holds {} labels",
                images_path.display(),
                images.shape[0],
                labels_path.display(),
                labels.shape[0]
            )));
        }
        // Zero images may declare any size; a batch of them must still be a tensor.
        if let Err(e) = checked_numel(&[images.shape[0], 1, images.shape[1], images.shape[2]]) {
            return Err(Error::Io(format!(
                "{}: images of shape {:?}: {}",
                images_path.display(),
                images.shape,
                e.message()
            )));
        }
        Ok(Mnist {
            images: images.data,
            labels: labels.data,
            rows: images.shape[1],
            cols: images.shape[2],
            mean: 0.0,
            std: 1.0,
        })
    }

    /// The same data with inputs `(pixel/255 − mean)/std`. PyTorch:
    /// `transforms.Normalize((mean,), (std,))` after `ToTensor()`; MNIST's usual values are
    /// [`MNIST_MEAN_STD`]. Example on [`MNIST_MEAN_STD`].
    pub fn normalize(mut self, mean: f32, std: f32) -> Mnist {
        self.mean = mean;
        self.std = std;
        self
    }

    /// `(rows, cols)` of each image. PyTorch: `dataset.data.shape[1:]`.
    ///
    /// ```
    /// use tapegrad::data::{Dataset, Mnist};
    /// let digits = Mnist::load("data/digits", true).unwrap(); // the bundled 8×8 digits
    /// assert_eq!(digits.image_size(), (8, 8));
    /// assert_eq!(digits.pixels(0).len(), 8 * 8);
    /// assert!(digits.label(0) < 10);
    /// assert_eq!(digits.get(0).1.item(), digits.label(0) as f32);
    /// ```
    pub fn image_size(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// The label of sample `index`. PyTorch: `dataset.targets[index]`. Example on
    /// [`Mnist::image_size`].
    pub fn label(&self, index: usize) -> u8 {
        self.labels[index]
    }

    /// The raw bytes of image `index` (`rows·cols` pixels, row-major). PyTorch:
    /// `dataset.data[index]`. Example on [`Mnist::image_size`].
    pub fn pixels(&self, index: usize) -> &[u8] {
        let size = self.rows * self.cols;
        &self.images[index * size..(index + 1) * size]
    }

    fn pixel_value(&self, p: u8) -> f32 {
        (p as f32 / 255.0 - self.mean) / self.std
    }
}

impl Dataset for Mnist {
    fn len(&self) -> usize {
        self.labels.len()
    }

    fn get(&self, index: usize) -> (Tensor, Tensor) {
        assert!(index < self.len(), "Mnist: index {index} is out of range for {} samples", self.len());
        let image = self.pixels(index).iter().map(|&p| self.pixel_value(p)).collect();
        let image = Tensor::from_vec(image, &[1, self.rows, self.cols]).expect("rows·cols pixels");
        (image, Tensor::scalar(self.labels[index] as f32))
    }

    /// Builds the `(N, 1, rows, cols)` batch directly from the bytes (no per-sample tensors).
    fn get_batch(&self, indices: &[usize]) -> (Tensor, Tensor) {
        let size = self.rows * self.cols;
        let mut images = Vec::with_capacity(indices.len() * size);
        for &i in indices {
            images.extend(self.pixels(i).iter().map(|&p| self.pixel_value(p)));
        }
        let labels = indices.iter().map(|&i| self.labels[i] as f32).collect();
        (
            Tensor::from_vec(images, &[indices.len(), 1, self.rows, self.cols]).expect("batch of images"),
            Tensor::from_vec(labels, &[indices.len()]).expect("batch of labels"),
        )
    }
}
