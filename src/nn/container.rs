//! Containers and shape layers: `Sequential`, `Flatten`, `Identity`.

use super::activation::parameterless_module;
use super::module::TrainingFlag;
use super::{Module, Parameter};
use crate::tensor::Tensor;

/// Runs its layers in order, each on the previous one's output. Children are named `"0"`,
/// `"1"`, ..., so parameter names are PyTorch's (`0.weight`, `2.bias`).
/// PyTorch: `nn.Sequential(*layers)`.
///
/// ```
/// use tapegrad::{Tensor, nn::{Linear, Module, Relu, Sequential}};
/// let model = Sequential::new().add(Linear::new(4, 8)).add(Relu::new()).add(Linear::new(8, 2));
/// assert_eq!(model.forward(&Tensor::zeros(&[3, 4])).shape(), &[3, 2]);
/// let names: Vec<String> = model.named_parameters().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["0.weight", "0.bias", "2.weight", "2.bias"]);
/// ```
#[derive(Default)]
pub struct Sequential {
    layers: Vec<Box<dyn Module>>,
}

impl Sequential {
    /// An empty container. PyTorch: `nn.Sequential()`. Example on [`Sequential`].
    pub fn new() -> Sequential {
        Sequential::default()
    }

    /// The container with `layer` appended. PyTorch: `seq.append(layer)`. Example on
    /// [`Sequential`].
    #[allow(clippy::should_implement_trait)] // a builder step, not arithmetic
    pub fn add(mut self, layer: impl Module + 'static) -> Sequential {
        self.layers.push(Box::new(layer));
        self
    }

    /// Appends an already boxed layer. PyTorch: `seq.append(layer)`.
    ///
    /// ```
    /// use tapegrad::nn::{Linear, Module, Relu, Sequential};
    /// let mut model = Sequential::new();
    /// for layer in [Box::new(Linear::new(2, 2)) as Box<dyn Module>, Box::new(Relu::new())] {
    ///     model.push(layer);
    /// }
    /// assert_eq!(model.len(), 2);
    /// assert!(model.get(1).unwrap().parameters().is_empty()); // the ReLU
    /// assert!(model.get(2).is_none() && !model.is_empty());
    /// ```
    pub fn push(&mut self, layer: Box<dyn Module>) {
        self.layers.push(layer);
    }

    /// The number of layers. PyTorch: `len(seq)`. Example on [`Sequential::push`].
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether there are no layers. PyTorch: `len(seq) == 0`. Example on [`Sequential::push`].
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// Layer `index`. PyTorch: `seq[index]`. Example on [`Sequential::push`].
    pub fn get(&self, index: usize) -> Option<&dyn Module> {
        self.layers.get(index).map(|l| l.as_ref())
    }
}

impl Module for Sequential {
    fn forward(&self, input: &Tensor) -> Tensor {
        self.layers.iter().fold(input.clone(), |x, layer| layer.forward(&x))
    }

    fn named_children(&self) -> Vec<(String, &dyn Module)> {
        self.layers.iter().enumerate().map(|(i, l)| (i.to_string(), l.as_ref())).collect()
    }
}

/// Flattens dims `start_dim..=end_dim` (default `1..=-1`: everything but the batch).
/// PyTorch: `nn.Flatten(start_dim=1, end_dim=-1)`.
///
/// ```
/// use tapegrad::{Tensor, nn::{Flatten, Module}};
/// assert_eq!(Flatten::new().forward(&Tensor::zeros(&[2, 16, 4, 4])).shape(), &[2, 256]);
/// ```
#[derive(Debug, Clone)]
pub struct Flatten {
    /// First dim to flatten.
    pub start_dim: isize,
    /// Last dim to flatten (inclusive).
    pub end_dim: isize,
    training: TrainingFlag,
}

impl Flatten {
    /// PyTorch: `nn.Flatten()`: keeps the batch dim, flattens the rest. Example on [`Flatten`].
    pub fn new() -> Flatten {
        Flatten::with_dims(1, -1)
    }

    /// PyTorch: `nn.Flatten(start_dim, end_dim)`.
    ///
    /// ```
    /// use tapegrad::{Tensor, nn::{Flatten, Module}};
    /// let y = Flatten::with_dims(0, 1).forward(&Tensor::zeros(&[2, 3, 4]));
    /// assert_eq!(y.shape(), &[6, 4]);
    /// ```
    pub fn with_dims(start_dim: isize, end_dim: isize) -> Flatten {
        Flatten { start_dim, end_dim, training: TrainingFlag::default() }
    }
}

impl Default for Flatten {
    fn default() -> Self {
        Flatten::new()
    }
}
parameterless_module!(Flatten, |self, x| x.flatten(self.start_dim, self.end_dim));

/// Returns its input, `y = x`. PyTorch: `nn.Identity()`.
///
/// ```
/// use tapegrad::{Tensor, nn::{Identity, Module}};
/// let x = Tensor::from_vec(vec![1.0, 2.0], &[2]).unwrap();
/// assert_eq!(Identity::new().forward(&x).to_vec(), vec![1.0, 2.0]);
/// ```
#[derive(Debug, Default, Clone)]
pub struct Identity {
    training: TrainingFlag,
}

impl Identity {
    /// PyTorch: `nn.Identity()`. Example on [`Identity`].
    pub fn new() -> Identity {
        Identity::default()
    }
}
parameterless_module!(Identity, |self, x| x.clone());
