//! `Conv1d`, `Conv2d`, `Conv3d`: the convolution modules. PyTorch: `torch.nn.Conv{1,2,3}d`.

use super::args::{IntOrTuple, Padding, PaddingArg, PaddingMode};
use super::functional::conv::{conv_functional, same_padding_split};
use super::init::{FanMode, calculate_fan_in_and_fan_out, kaiming_uniform_, uniform_};
use super::module::TrainingFlag;
use super::{Module, Parameter};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// An `N`-d convolution layer; use the aliases [`Conv1d`], [`Conv2d`], [`Conv3d`].
///
/// `weight` has shape `(out_channels, in_channels / groups, *kernel_size)` and `bias`
/// `(out_channels,)`; both are public, so a lesson can set a fixed kernel:
///
/// ```
/// use tapegrad::{Tensor, nn::{Conv2d, Module, Parameter}};
/// let mut conv = Conv2d::builder(1, 1, 2).padding("same").bias(false).build().unwrap();
/// conv.weight = Parameter::new(Tensor::from_vec(vec![1., 0., 2., 1.], &[1, 1, 2, 2]).unwrap()).requires_grad_(false);
/// let x = Tensor::from_vec(vec![4., 1., 7., 5., 4., 4., 2., 5., 7., 7., 2., 4., 1., 0., 2., 4.], &[1, 1, 4, 4]).unwrap();
/// assert_eq!(conv.forward(&x).to_vec()[12..], [1., 0., 2., 4.]);
/// ```
///
/// Default initialisation is PyTorch's `reset_parameters`: weight
/// `kaiming_uniform_(a=√5)`, i.e. `U(±1/√fan_in)`, and bias `U(±1/√fan_in)`, with
/// `fan_in = in_channels / groups · ∏kernel_size`.
pub struct Conv<const N: usize> {
    /// `(out_channels, in_channels / groups, *kernel_size)`.
    pub weight: Parameter,
    /// `(out_channels,)`, or `None` when built with `bias(false)`.
    pub bias: Option<Parameter>,
    in_channels: usize,
    out_channels: usize,
    kernel_size: Vec<i64>,
    stride: Vec<i64>,
    padding: Padding,
    dilation: Vec<i64>,
    groups: usize,
    padding_mode: PaddingMode,
    /// The `F.pad` list a non-zeros padding mode applies (last dim first), as PyTorch's
    /// `_reversed_padding_repeated_twice`.
    reversed_padding_repeated_twice: Vec<i64>,
    training: TrainingFlag,
}

/// 1-d convolution over `(N, C, L)`. PyTorch: `nn.Conv1d`.
pub type Conv1d = Conv<1>;
/// 2-d convolution over `(N, C, H, W)`. PyTorch: `nn.Conv2d`.
pub type Conv2d = Conv<2>;
/// 3-d convolution over `(N, C, D, H, W)`. PyTorch: `nn.Conv3d`.
pub type Conv3d = Conv<3>;

/// Builds a [`Conv`] with PyTorch's keyword arguments; every one has PyTorch's default.
///
/// ```
/// use tapegrad::nn::Conv2d;
/// let conv = Conv2d::builder(3, 16, [3, 5]).stride(2).padding([1, 2]).dilation(1).groups(1).bias(true)
///     .padding_mode("reflect").build().unwrap();
/// assert_eq!(conv.weight.shape(), &[16, 3, 3, 5]);
/// let err = Conv2d::builder(3, 4, 3).stride(2).padding("same").build().unwrap_err();
/// assert_eq!(err.message(), "padding='same' is not supported for strided convolutions");
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until .build()"]
pub struct ConvBuilder<const N: usize> {
    in_channels: usize,
    out_channels: usize,
    kernel_size: IntOrTuple,
    stride: IntOrTuple,
    padding: PaddingArg,
    dilation: IntOrTuple,
    groups: usize,
    bias: bool,
    padding_mode: String,
}

impl<const N: usize> Conv<N> {
    /// A convolution with every optional argument at PyTorch's default (stride 1, padding 0,
    /// dilation 1, groups 1, bias, zeros padding). PyTorch: `nn.ConvNd(in_channels,
    /// out_channels, kernel_size)`.
    ///
    /// # Errors
    /// As [`ConvBuilder::build`].
    pub fn new(in_channels: usize, out_channels: usize, kernel_size: impl Into<IntOrTuple>) -> Result<Self> {
        Self::builder(in_channels, out_channels, kernel_size).build()
    }

    /// A builder for the remaining arguments (stride, padding, dilation, groups, bias,
    /// padding_mode).
    pub fn builder(in_channels: usize, out_channels: usize, kernel_size: impl Into<IntOrTuple>) -> ConvBuilder<N> {
        ConvBuilder {
            in_channels,
            out_channels,
            kernel_size: kernel_size.into(),
            stride: 1.into(),
            padding: 0.into(),
            dilation: 1.into(),
            groups: 1,
            bias: true,
            padding_mode: "zeros".into(),
        }
    }

    /// Re-draws the weight and bias as PyTorch's `reset_parameters` does: weight
    /// `kaiming_uniform_(a=√5)`, bias `U(±1/√fan_in)` (left alone when `fan_in` is 0).
    pub fn reset_parameters(&self) {
        kaiming_uniform_(&self.weight, 5f64.sqrt(), FanMode::FanIn, "leaky_relu")
            .expect("a conv weight has at least 3 dims");
        if let Some(bias) = &self.bias {
            let (fan_in, _) = calculate_fan_in_and_fan_out(self.weight.shape()).expect("at least 3 dims");
            if fan_in != 0 {
                let bound = 1.0 / (fan_in as f64).sqrt();
                uniform_(bias, -bound, bound);
            }
        }
    }

    /// Explains the output size for an input of spatial size `input` (e.g. `[H, W]`):
    /// padding per dim, output size, and the formula with the numbers filled in. See
    /// [`conv_output_shape`](crate::nn::functional::conv_output_shape).
    ///
    /// # Errors
    /// What `forward` would reject for that size.
    ///
    /// ```
    /// use tapegrad::nn::Conv2d;
    /// let conv = Conv2d::builder(1, 6, 5).padding(2).build().unwrap();
    /// let dims = conv.explain(&[28, 28]).unwrap();
    /// assert_eq!(dims[0].formula, "H_out = floor((28 + 2 + 2 − 1·(5 − 1) − 1) / 1) + 1 = 28");
    /// ```
    pub fn explain(&self, input: &[usize]) -> Result<Vec<crate::nn::functional::ConvDimension>> {
        crate::nn::functional::conv_output_shape(
            input,
            self.kernel_size.clone(),
            self.stride.clone(),
            self.padding.clone(),
            self.dilation.clone(),
        )
    }

    /// `in_channels`.
    pub fn in_channels(&self) -> usize {
        self.in_channels
    }
    /// `out_channels`.
    pub fn out_channels(&self) -> usize {
        self.out_channels
    }
    /// `kernel_size`, one value per dim.
    pub fn kernel_size(&self) -> &[i64] {
        &self.kernel_size
    }
    /// `stride`, one value per dim.
    pub fn stride(&self) -> &[i64] {
        &self.stride
    }
    /// `padding` as given (explicit, `Valid` or `Same`).
    pub fn padding(&self) -> &Padding {
        &self.padding
    }
    /// `dilation`, one value per dim.
    pub fn dilation(&self) -> &[i64] {
        &self.dilation
    }
    /// `groups`.
    pub fn groups(&self) -> usize {
        self.groups
    }
    /// `padding_mode`.
    pub fn padding_mode(&self) -> PaddingMode {
        self.padding_mode
    }
}

impl<const N: usize> ConvBuilder<N> {
    /// The step between kernel applications: an int or one per dim. Default 1.
    pub fn stride(mut self, stride: impl Into<IntOrTuple>) -> Self {
        self.stride = stride.into();
        self
    }
    /// An int, one per dim, `"valid"`, `"same"` or a [`Padding`]. Default 0.
    pub fn padding(mut self, padding: impl Into<PaddingArg>) -> Self {
        self.padding = padding.into();
        self
    }
    /// The spacing between kernel elements: an int or one per dim. Default 1.
    pub fn dilation(mut self, dilation: impl Into<IntOrTuple>) -> Self {
        self.dilation = dilation.into();
        self
    }
    /// Channel groups: input and output channels are split into `groups` independent
    /// convolutions (`groups = in_channels` is a depthwise convolution). Default 1.
    pub fn groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }
    /// Whether to add a learnable bias. Default true.
    pub fn bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }
    /// `"zeros"`, `"reflect"`, `"replicate"`, `"circular"` or a [`PaddingMode`]. Default zeros.
    pub fn padding_mode(mut self, padding_mode: impl AsRef<str>) -> Self {
        self.padding_mode = padding_mode.as_ref().to_string();
        self
    }

    /// Checks the configuration as `nn.ConvNd.__init__` does and initialises the parameters.
    ///
    /// # Errors
    /// [`Error::Value`] with PyTorch's text: "groups must be a positive integer",
    /// "in_channels must be divisible by groups", "out_channels must be divisible by
    /// groups", an invalid padding string, "padding='same' is not supported for strided
    /// convolutions", an invalid padding mode. Like PyTorch, zero or negative stride,
    /// dilation, padding and kernel sizes are accepted here and rejected by `forward`.
    pub fn build(self) -> Result<Conv<N>> {
        if self.groups == 0 {
            return Err(Error::Value("groups must be a positive integer".into()));
        }
        if !self.in_channels.is_multiple_of(self.groups) {
            return Err(Error::Value("in_channels must be divisible by groups".into()));
        }
        if !self.out_channels.is_multiple_of(self.groups) {
            return Err(Error::Value("out_channels must be divisible by groups".into()));
        }
        let kernel_size = self.kernel_size.ntuple(N);
        let stride = self.stride.ntuple(N);
        let dilation = self.dilation.ntuple(N);
        let padding = match self.padding.for_module()? {
            Padding::Explicit(p) => Padding::Explicit(IntOrTuple(p).ntuple(N)),
            other => other,
        };
        if padding == Padding::Same && stride.iter().any(|&s| s != 1) {
            return Err(Error::Value("padding='same' is not supported for strided convolutions".into()));
        }
        let padding_mode: PaddingMode = self.padding_mode.parse()?;
        if let Some(&k) = kernel_size.iter().find(|&&k| k < 0) {
            return Err(Error::Runtime(format!(
                "Trying to create tensor with negative dimension {k}: {:?}",
                [&[self.out_channels as i64, (self.in_channels / self.groups) as i64][..], &kernel_size].concat()
            )));
        }
        let reversed_padding_repeated_twice = match &padding {
            Padding::Explicit(p) => p.iter().rev().flat_map(|&v| [v, v]).collect(),
            Padding::Valid => vec![0; 2 * kernel_size.len()],
            Padding::Same => (0..kernel_size.len())
                .rev()
                .flat_map(|i| {
                    let (before, after) = same_padding_split(kernel_size[i], dilation.get(i).copied().unwrap_or(1));
                    [before, after]
                })
                .collect(),
        };
        let weight_shape: Vec<usize> = [self.out_channels, self.in_channels / self.groups]
            .into_iter()
            .chain(kernel_size.iter().map(|&k| k as usize))
            .collect();
        let conv = Conv {
            weight: Parameter::new(Tensor::zeros(&weight_shape)),
            bias: self.bias.then(|| Parameter::new(Tensor::zeros(&[self.out_channels]))),
            in_channels: self.in_channels,
            out_channels: self.out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups: self.groups,
            padding_mode,
            reversed_padding_repeated_twice,
            training: TrainingFlag::default(),
        };
        conv.reset_parameters();
        Ok(conv)
    }
}

impl<const N: usize> Module for Conv<N> {
    /// `F.convNd(input, weight, bias, ...)`, after `F.pad` for a non-zeros padding mode,
    /// exactly as PyTorch's `_conv_forward`.
    ///
    /// # Panics
    /// On input PyTorch rejects at forward time, with PyTorch's message.
    #[track_caller]
    fn forward(&self, input: &Tensor) -> Tensor {
        let bias = self.bias.as_deref();
        match self.padding_mode.pad_mode() {
            Some(mode) => {
                let padded = input.pad(&self.reversed_padding_repeated_twice, mode, 0.0);
                let zero = PaddingArg::Ints(vec![0; N]);
                conv_functional(
                    N,
                    &padded,
                    &self.weight,
                    bias,
                    self.stride.clone().into(),
                    zero,
                    self.dilation.clone().into(),
                    self.groups as i64,
                )
            }
            None => conv_functional(
                N,
                input,
                &self.weight,
                bias,
                self.stride.clone().into(),
                self.padding.clone().into(),
                self.dilation.clone().into(),
                self.groups as i64,
            ),
        }
    }

    fn named_parameters(&self) -> Vec<(String, Parameter)> {
        let mut params = vec![("weight".to_string(), self.weight.clone())];
        params.extend(self.bias.iter().map(|b| ("bias".to_string(), b.clone())));
        params
    }

    fn train(&self, mode: bool) {
        self.training.set(mode);
    }

    fn is_training(&self) -> bool {
        self.training.get()
    }
}

impl<const N: usize> std::fmt::Debug for Conv<N> {
    /// PyTorch's module repr: `Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tuple = |v: &[i64]| {
            let items: Vec<String> = v.iter().map(i64::to_string).collect();
            if items.len() == 1 { format!("({},)", items[0]) } else { format!("({})", items.join(", ")) }
        };
        write!(
            f,
            "Conv{N}d({}, {}, kernel_size={}, stride={}",
            self.in_channels,
            self.out_channels,
            tuple(&self.kernel_size),
            tuple(&self.stride)
        )?;
        match &self.padding {
            Padding::Explicit(p) if p.iter().any(|&v| v != 0) => write!(f, ", padding={}", tuple(p))?,
            Padding::Explicit(_) => {}
            Padding::Valid => write!(f, ", padding=valid")?,
            Padding::Same => write!(f, ", padding=same")?,
        }
        if self.dilation.iter().any(|&d| d != 1) {
            write!(f, ", dilation={}", tuple(&self.dilation))?;
        }
        if self.groups != 1 {
            write!(f, ", groups={}", self.groups)?;
        }
        if self.bias.is_none() {
            write!(f, ", bias=False")?;
        }
        if self.padding_mode != PaddingMode::Zeros {
            write!(f, ", padding_mode={}", self.padding_mode)?;
        }
        write!(f, ")")
    }
}
