//! `Conv1d`, `Conv2d`, `Conv3d`: the convolution modules. PyTorch: `torch.nn.Conv{1,2,3}d`.

use super::args::{IntOrTuple, Padding, PaddingArg, PaddingMode};
use super::functional::conv::{conv_functional, same_padding_split};
use super::init::{FanMode, calculate_fan_in_and_fan_out, kaiming_uniform_, uniform_};
use super::module::TrainingFlag;
use super::{Module, Parameter};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// An `N`-d convolution layer; use the aliases [`Conv1d`], [`Conv2d`], [`Conv3d`].
/// PyTorch: `nn.Conv1d`, `nn.Conv2d`, `nn.Conv3d`.
///
/// For output channel `j` of sample `n` (PyTorch's formula; `⋆` is cross-correlation over
/// the `in_channels / groups` input channels of `j`'s group):
///
/// ```text
/// out(n, j) = bias(j) + Σₖ weight(j, k) ⋆ input(n, k)
/// size_out  = ⌊(size_in + pad_before + pad_after − dilation·(kernel − 1) − 1) / stride⌋ + 1
/// ```
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

/// 1-d convolution over `(N, C, L)` (or unbatched `(C, L)`). PyTorch: `nn.Conv1d`.
///
/// ```
/// use tapegrad::{Tensor, nn::{Conv1d, Module}};
/// let conv = Conv1d::builder(2, 4, 3).padding(1).build().unwrap();
/// assert_eq!(conv.forward(&Tensor::zeros(&[5, 2, 10])).shape(), &[5, 4, 10]);
/// ```
pub type Conv1d = Conv<1>;
/// 2-d convolution over `(N, C, H, W)` (or unbatched `(C, H, W)`). PyTorch: `nn.Conv2d`.
/// Examples on [`Conv`] and [`Conv::new`].
pub type Conv2d = Conv<2>;
/// 3-d convolution over `(N, C, D, H, W)` (or unbatched `(C, D, H, W)`). PyTorch: `nn.Conv3d`.
///
/// ```
/// use tapegrad::{Tensor, nn::{Conv3d, Module}};
/// let conv = Conv3d::builder(1, 2, 3).stride(2).build().unwrap();
/// assert_eq!(conv.forward(&Tensor::zeros(&[1, 1, 7, 7, 7])).shape(), &[1, 2, 3, 3, 3]); // ⌊(7 − 3)/2⌋ + 1
/// ```
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
    ///
    /// ```
    /// use tapegrad::{Tensor, nn::{Conv2d, Module}};
    /// let conv = Conv2d::new(1, 6, 5).unwrap();
    /// assert_eq!(conv.weight.shape(), &[6, 1, 5, 5]);
    /// let y = conv.forward(&Tensor::zeros(&[2, 1, 28, 28]));
    /// assert_eq!(y.shape(), &[2, 6, 24, 24]); // 28 − (5 − 1) = 24
    /// ```
    pub fn new(in_channels: usize, out_channels: usize, kernel_size: impl Into<IntOrTuple>) -> Result<Self> {
        Self::builder(in_channels, out_channels, kernel_size).build()
    }

    /// A builder for the remaining arguments (stride, padding, dilation, groups, bias,
    /// padding_mode). PyTorch: `nn.ConvNd(in_channels, out_channels, kernel_size, **kwargs)`.
    /// Example on [`ConvBuilder`].
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

    /// Re-draws the weight and bias as PyTorch's `_ConvNd.reset_parameters()` does: weight
    /// `kaiming_uniform_(a=√5)`, which is `U(±1/√fan_in)`, bias `U(±1/√fan_in)` (left alone
    /// when `fan_in` is 0), with `fan_in = in_channels / groups · ∏kernel_size`.
    ///
    /// ```
    /// use tapegrad::nn::Conv2d;
    /// let conv = Conv2d::new(4, 8, 3).unwrap(); // fan_in = 4·3·3 = 36
    /// conv.reset_parameters();
    /// let bound = 1.0 / 6.0; // 1/√36
    /// assert!(conv.bias.as_ref().unwrap().to_vec().iter().all(|b| b.abs() <= bound));
    /// ```
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
    /// [`conv_output_shape`](crate::nn::functional::conv_output_shape). tapegrad-only, no
    /// PyTorch counterpart (PyTorch documents the formula in `nn.Conv2d`'s docstring).
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

    /// `in_channels`. PyTorch: `conv.in_channels`. Like the other getters below, it returns
    /// the constructor argument, with an int expanded to one value per dim:
    ///
    /// ```
    /// use tapegrad::nn::{Conv2d, Padding, PaddingMode};
    /// let conv = Conv2d::builder(4, 8, 3).padding("same").dilation(2).groups(2).build().unwrap();
    /// assert_eq!((conv.in_channels(), conv.out_channels(), conv.groups()), (4, 8, 2));
    /// assert_eq!((conv.kernel_size(), conv.stride(), conv.dilation()), (&[3, 3][..], &[1, 1][..], &[2, 2][..]));
    /// assert_eq!((conv.padding(), conv.padding_mode()), (&Padding::Same, PaddingMode::Zeros));
    /// ```
    pub fn in_channels(&self) -> usize {
        self.in_channels
    }
    /// `out_channels`. PyTorch: `conv.out_channels`. Example on [`Conv::in_channels`].
    pub fn out_channels(&self) -> usize {
        self.out_channels
    }
    /// `kernel_size`, one value per dim. PyTorch: `conv.kernel_size`. Example on
    /// [`Conv::in_channels`].
    pub fn kernel_size(&self) -> &[i64] {
        &self.kernel_size
    }
    /// `stride`, one value per dim. PyTorch: `conv.stride`. Example on [`Conv::in_channels`].
    pub fn stride(&self) -> &[i64] {
        &self.stride
    }
    /// `padding` as given (explicit, `Valid` or `Same`). PyTorch: `conv.padding`. Example on
    /// [`Conv::in_channels`].
    pub fn padding(&self) -> &Padding {
        &self.padding
    }
    /// `dilation`, one value per dim. PyTorch: `conv.dilation`. Example on
    /// [`Conv::in_channels`].
    pub fn dilation(&self) -> &[i64] {
        &self.dilation
    }
    /// `groups`. PyTorch: `conv.groups`. Example on [`Conv::in_channels`].
    pub fn groups(&self) -> usize {
        self.groups
    }
    /// `padding_mode`. PyTorch: `conv.padding_mode`. Example on [`Conv::in_channels`].
    pub fn padding_mode(&self) -> PaddingMode {
        self.padding_mode
    }
}

impl<const N: usize> ConvBuilder<N> {
    /// The step between kernel applications: an int or one per dim. Default 1.
    /// PyTorch: `stride=`. Example on [`ConvBuilder`].
    pub fn stride(mut self, stride: impl Into<IntOrTuple>) -> Self {
        self.stride = stride.into();
        self
    }
    /// An int, one per dim, `"valid"`, `"same"` or a [`Padding`]. Default 0.
    /// PyTorch: `padding=`. Example on [`ConvBuilder`].
    pub fn padding(mut self, padding: impl Into<PaddingArg>) -> Self {
        self.padding = padding.into();
        self
    }
    /// The spacing between kernel elements: an int or one per dim. Default 1. A kernel of
    /// size `k` then spans `dilation·(k − 1) + 1` input elements. PyTorch: `dilation=`.
    /// Example on [`ConvBuilder`].
    pub fn dilation(mut self, dilation: impl Into<IntOrTuple>) -> Self {
        self.dilation = dilation.into();
        self
    }
    /// Channel groups: input and output channels are split into `groups` independent
    /// convolutions (`groups = in_channels` is a depthwise convolution). Default 1.
    /// PyTorch: `groups=`. Example on [`ConvBuilder`].
    pub fn groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }
    /// Whether to add a learnable bias. Default true. PyTorch: `bias=`. Example on
    /// [`ConvBuilder`].
    pub fn bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }
    /// `"zeros"`, `"reflect"`, `"replicate"`, `"circular"` or a [`PaddingMode`]. Default zeros.
    /// PyTorch: `padding_mode=`. Example on [`ConvBuilder`].
    pub fn padding_mode(mut self, padding_mode: impl AsRef<str>) -> Self {
        self.padding_mode = padding_mode.as_ref().to_string();
        self
    }

    /// Checks the configuration as `nn.ConvNd.__init__` does and initialises the parameters.
    /// PyTorch: the `nn.ConvNd(...)` constructor call. Example on [`ConvBuilder`].
    ///
    /// # Errors
    /// [`Error::Value`] with PyTorch's text: "groups must be a positive integer",
    /// "in_channels must be divisible by groups", "out_channels must be divisible by
    /// groups", an invalid padding string, "padding='same' is not supported for strided
    /// convolutions", an invalid padding mode. Like PyTorch, zero or negative stride,
    /// dilation, padding and kernel sizes are accepted here and rejected by `forward`.
    /// [`Error::Runtime`] for a negative kernel size (PyTorch's "Trying to create tensor
    /// with negative dimension"), or a weight with more elements than `usize` counts or
    /// than memory holds.
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
        // Sizes from a configuration: a weight no memory holds is an Err, not an abort.
        let zeros = |shape: &[usize]| {
            Tensor::try_full(shape, 0.0).map(Parameter::new).map_err(|e| Error::Runtime(e.message().to_string()))
        };
        let conv = Conv {
            weight: zeros(&weight_shape)?,
            bias: if self.bias { Some(zeros(&[self.out_channels])?) } else { None },
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
