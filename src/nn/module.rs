//! The [`Module`] trait: something with a `forward`, parameters, buffers and children.
//! PyTorch: `torch.nn.Module`.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};

use super::Parameter;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// A module's parameters and buffers by dotted name, in registration order (PyTorch's
/// `OrderedDict` returned by `state_dict()`). Example on [`Module::load_state_dict`].
pub type StateDict = Vec<(String, Tensor)>;

/// A layer or a model. PyTorch: `torch.nn.Module`.
///
/// A leaf layer implements `forward` and `named_parameters` (and `named_buffers` if it has
/// running statistics). A model made of layers implements `forward` and `named_children`,
/// and gets everything else (parameters with dotted names, buffers, `train`/`eval`,
/// `state_dict`, `load_state_dict`, `zero_grad`) from the defaults. No derive macro:
///
/// ```
/// use tapegrad::{Tensor, nn::{Conv2d, Linear, Module}};
///
/// struct Net { conv: Conv2d, fc: Linear }
///
/// impl Module for Net {
///     fn forward(&self, x: &Tensor) -> Tensor {
///         let x = self.conv.forward(x).relu().flatten(1, -1);
///         self.fc.forward(&x)
///     }
///     fn named_children(&self) -> Vec<(String, &dyn Module)> {
///         vec![("conv".into(), &self.conv), ("fc".into(), &self.fc)]
///     }
/// }
///
/// let net = Net { conv: Conv2d::new(1, 4, 3).unwrap(), fc: Linear::new(4 * 6 * 6, 10) };
/// let names: Vec<String> = net.named_parameters().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["conv.weight", "conv.bias", "fc.weight", "fc.bias"]);
/// assert_eq!(net.forward(&Tensor::zeros(&[2, 1, 8, 8])).shape(), &[2, 10]);
/// net.eval();
/// assert!(!net.is_training());
/// ```
pub trait Module: Send + Sync {
    /// Computes the output. PyTorch: `module(input)` / `module.forward(input)`.
    fn forward(&self, input: &Tensor) -> Tensor;

    /// The direct sub-modules with their names. PyTorch: `module.named_children()`.
    /// Default: none (a leaf layer).
    fn named_children(&self) -> Vec<(String, &dyn Module)> {
        Vec::new()
    }

    /// Every parameter with its dotted name (`conv1.weight`, `0.bias`), in registration
    /// order. PyTorch: `module.named_parameters()`. Default: the children's, prefixed with
    /// the child's name; a leaf layer lists its own.
    fn named_parameters(&self) -> Vec<(String, Parameter)> {
        prefixed(self.named_children(), |child| child.named_parameters())
    }

    /// Every buffer (state that is saved but not trained, such as BatchNorm's running
    /// statistics) with its dotted name. PyTorch: `module.named_buffers()`.
    ///
    /// ```
    /// use tapegrad::nn::{BatchNorm2d, Module};
    /// let names: Vec<String> = BatchNorm2d::new(3).named_buffers().into_iter().map(|(n, _)| n).collect();
    /// assert_eq!(names, ["running_mean", "running_var", "num_batches_tracked"]);
    /// ```
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        prefixed(self.named_children(), |child| child.named_buffers())
    }

    /// Every parameter, in registration order. PyTorch: `module.parameters()`.
    ///
    /// ```
    /// use tapegrad::nn::{Linear, Module};
    /// let shapes: Vec<Vec<usize>> = Linear::new(4, 3).parameters().iter().map(|p| p.shape().to_vec()).collect();
    /// assert_eq!(shapes, [vec![3, 4], vec![3]]); // weight, bias
    /// ```
    fn parameters(&self) -> Vec<Parameter> {
        self.named_parameters().into_iter().map(|(_, p)| p).collect()
    }

    /// Sets training mode (`true`) or evaluation mode (`false`) on this module and every
    /// child; Dropout and BatchNorm behave differently in the two. PyTorch:
    /// `module.train(mode=True)`. A layer with a mode overrides this and [`Module::is_training`].
    fn train(&self, mode: bool) {
        for (_, child) in self.named_children() {
            child.train(mode);
        }
    }

    /// Evaluation mode. PyTorch: `module.eval()`.
    fn eval(&self) {
        self.train(false);
    }

    /// Whether the module is in training mode. PyTorch: `module.training`. Default: true
    /// unless a child is in evaluation mode (a layer without a mode is always "training").
    fn is_training(&self) -> bool {
        self.named_children().iter().all(|(_, child)| child.is_training())
    }

    /// Clears the gradient of every parameter. PyTorch: `module.zero_grad()`
    /// (`set_to_none=True`).
    ///
    /// ```
    /// use tapegrad::{Tensor, nn::{Linear, Module}};
    /// let fc = Linear::new(2, 1);
    /// fc.forward(&Tensor::ones(&[1, 2])).sum().backward();
    /// assert!(fc.weight.grad().is_some());
    /// fc.zero_grad();
    /// assert!(fc.parameters().iter().all(|p| p.grad().is_none()));
    /// ```
    fn zero_grad(&self) {
        for p in self.parameters() {
            p.zero_grad();
        }
    }

    /// Parameters then buffers, by dotted name, detached. PyTorch: `module.state_dict()`
    /// (PyTorch interleaves them per module; names are what matters for loading). Example
    /// on [`Module::load_state_dict`].
    fn state_dict(&self) -> StateDict {
        let params = self.named_parameters().into_iter().map(|(n, p)| (n, p.detach()));
        params.chain(self.named_buffers().into_iter().map(|(n, b)| (n, b.detach()))).collect()
    }

    /// Copies values from `state` into the parameters and buffers of the same names.
    /// PyTorch: `module.load_state_dict(state_dict, strict=True)`.
    ///
    /// With `strict`, every key must match: missing and unexpected keys are an error.
    /// A shape mismatch is always an error. Nothing is changed unless everything fits.
    ///
    /// # Errors
    /// [`Error::Runtime`] naming the missing, unexpected and wrongly-shaped keys, in
    /// PyTorch's layout ("Error(s) in loading state_dict: Missing key(s) in state_dict:
    /// \"fc.bias\". ...").
    ///
    /// ```
    /// use tapegrad::nn::{Linear, Module};
    /// let (source, target) = (Linear::new(3, 2), Linear::new(3, 2));
    /// let state = source.state_dict(); // [("weight", ..), ("bias", ..)]
    /// target.load_state_dict(&state, true).unwrap();
    /// assert_eq!(target.weight.to_vec(), source.weight.to_vec());
    /// let err = Linear::new(3, 4).load_state_dict(&state, true).unwrap_err();
    /// assert!(err.message().contains("size mismatch for weight"));
    /// ```
    fn load_state_dict(&self, state: &StateDict, strict: bool) -> Result<()> {
        let own: Vec<(String, Tensor)> = self
            .named_parameters()
            .into_iter()
            .map(|(n, p)| (n, p.tensor().clone()))
            .chain(self.named_buffers())
            .collect();
        let own_names: HashSet<&str> = own.iter().map(|(n, _)| n.as_str()).collect();
        let given: HashSet<&str> = state.iter().map(|(n, _)| n.as_str()).collect();
        let missing: Vec<&str> = own.iter().map(|(n, _)| n.as_str()).filter(|n| !given.contains(n)).collect();
        let unexpected: Vec<&str> = state.iter().map(|(n, _)| n.as_str()).filter(|n| !own_names.contains(n)).collect();
        let mut problems = Vec::new();
        // PyTorch's order and punctuation: missing keys, then unexpected ones, then sizes.
        if strict && !missing.is_empty() {
            problems.push(format!("Missing key(s) in state_dict: {}. ", quoted(&missing)));
        }
        if strict && !unexpected.is_empty() {
            problems.push(format!("Unexpected key(s) in state_dict: {}. ", quoted(&unexpected)));
        }
        for (name, target) in &own {
            if let Some((_, source)) = state.iter().find(|(n, _)| n == name)
                && source.shape() != target.shape()
            {
                problems.push(format!(
                    "size mismatch for {name}: copying a param with shape {:?} from checkpoint, the shape in current model is {:?}.",
                    source.shape(),
                    target.shape()
                ));
            }
        }
        if !problems.is_empty() {
            return Err(Error::Runtime(format!(
                "Error(s) in loading state_dict for {}:\n\t{}",
                pytorch_class_name(std::any::type_name::<Self>()),
                problems.join("\n\t")
            )));
        }
        let _guard = crate::no_grad();
        for (name, target) in &own {
            if let Some((_, source)) = state.iter().find(|(n, _)| n == name) {
                target.copy_(source);
            }
        }
        Ok(())
    }
}

fn prefixed<T>(
    children: Vec<(String, &dyn Module)>,
    items: impl Fn(&dyn Module) -> Vec<(String, T)>,
) -> Vec<(String, T)> {
    children
        .into_iter()
        .flat_map(|(prefix, child)| items(child).into_iter().map(move |(name, t)| (format!("{prefix}.{name}"), t)))
        .collect()
}

fn quoted(names: &[&str]) -> String {
    names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
}

/// The train/eval flag of a layer whose behaviour depends on it (Dropout, BatchNorm), or
/// that reports it. Starts in training mode, as PyTorch modules do. PyTorch: the
/// `module.training` attribute (an `AtomicBool` here, because `forward` takes `&self`).
///
/// ```
/// use tapegrad::{Tensor, nn::{Module, TrainingFlag}};
/// struct Noisy { training: TrainingFlag }
/// impl Module for Noisy {
///     fn forward(&self, x: &Tensor) -> Tensor { if self.training.get() { x + 1.0 } else { x.clone() } }
///     fn train(&self, mode: bool) { self.training.set(mode) }
///     fn is_training(&self) -> bool { self.training.get() }
/// }
/// let layer = Noisy { training: TrainingFlag::default() }; // starts in training mode
/// assert_eq!(layer.forward(&Tensor::zeros(&[1])).item(), 1.0);
/// layer.eval();
/// assert_eq!(layer.forward(&Tensor::zeros(&[1])).item(), 0.0);
/// ```
#[derive(Debug)]
pub struct TrainingFlag(AtomicBool);

impl TrainingFlag {
    /// Whether in training mode. PyTorch: reading `module.training`. Example on [`TrainingFlag`].
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
    /// Sets the mode. PyTorch: `module.training = mode`. Example on [`TrainingFlag`].
    pub fn set(&self, training: bool) {
        self.0.store(training, Ordering::Relaxed);
    }
}

impl Default for TrainingFlag {
    fn default() -> Self {
        TrainingFlag(AtomicBool::new(true))
    }
}

impl Clone for TrainingFlag {
    fn clone(&self) -> Self {
        TrainingFlag(AtomicBool::new(self.get()))
    }
}

/// The class name PyTorch would print for a module type: the last path segment, with a
/// dimensionality parameter written PyTorch's way (`BatchNorm<2>` → `BatchNorm2d`).
fn pytorch_class_name(type_name: &str) -> String {
    let (path, generics) = type_name.split_at(type_name.find('<').unwrap_or(type_name.len()));
    let base = path.rsplit("::").next().unwrap_or("Module");
    match generics.trim_start_matches('<').trim_end_matches('>').parse::<usize>() {
        Ok(dims @ 1..=3) => format!("{base}{dims}d"),
        _ => base.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::pytorch_class_name;

    #[test]
    fn class_names_are_pytorch_spellings() {
        assert_eq!(pytorch_class_name("tapegrad::nn::linear::Linear"), "Linear");
        assert_eq!(pytorch_class_name("tapegrad::nn::batchnorm::BatchNorm<2>"), "BatchNorm2d");
        assert_eq!(pytorch_class_name("tapegrad::nn::conv::Conv<3>"), "Conv3d");
        // A path inside the generics must not leak into the name.
        assert_eq!(pytorch_class_name("my::Wrapper<alloc::vec::Vec<f32>>"), "Wrapper");
    }
}
