//! `MaxPool1d`, `MaxPool2d`, `AvgPool2d`, `AdaptiveAvgPool2d`: the pooling modules.
//! PyTorch: `torch.nn.MaxPool{1,2}d`, `torch.nn.AvgPool2d`, `torch.nn.AdaptiveAvgPool2d`.
//!
//! Like PyTorch's, these constructors store their arguments without checking them (there
//! is nothing a pooling constructor rejects); `forward` panics with PyTorch's message on
//! an invalid configuration or input. They have no parameters.

use std::fmt;

use ndarray::ArrayD;

use super::args::IntOrTuple;
use super::functional::{PoolStride, adaptive_avg_pool2d, avg_pool2d, max_pool_functional};
use super::module::{Module, TrainingFlag};
use crate::tensor::Tensor;

/// PyTorch's repr of an int-or-tuple argument: `2` or `(2, 3)`.
struct Repr<'a>(&'a [i64]);

impl fmt::Display for Repr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            [v] => write!(f, "{v}"),
            values => {
                let listed: Vec<String> = values.iter().map(i64::to_string).collect();
                write!(f, "({}{})", listed.join(", "), if values.len() == 1 { "," } else { "" })
            }
        }
    }
}

fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

// ----- max pooling -----------------------------------------------------------------------

/// An `N`-d max pooling layer; use the aliases [`MaxPool1d`] and [`MaxPool2d`]. PyTorch:
/// `nn.MaxPool1d`, `nn.MaxPool2d`. Each output is the maximum of its window,
/// `out[.., y, x] = max_{i, j} input[.., y·s₀ − p₀ + i·d₀, x·s₁ − p₁ + j·d₁]`; see
/// [`functional::max_pool2d`](super::functional::max_pool2d) for the rest of the maths.
///
/// ```
/// use tapegrad::{Tensor, nn::{MaxPool2d, Module}};
/// let pool = MaxPool2d::new(2);
/// let x = Tensor::from_vec((0..16).map(|v| v as f32).collect(), &[1, 1, 4, 4]).unwrap();
/// assert_eq!(pool.forward(&x).to_vec(), vec![5., 7., 13., 15.]);
/// let (_, indices) = pool.forward_with_indices(&x);
/// assert_eq!(indices.into_raw_vec_and_offset().0, vec![5, 7, 13, 15]);
/// assert_eq!(format!("{pool:?}"), "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)");
/// ```
#[derive(Clone)]
pub struct MaxPool<const N: usize> {
    kernel_size: IntOrTuple,
    stride: IntOrTuple,
    padding: IntOrTuple,
    dilation: IntOrTuple,
    ceil_mode: bool,
    training: TrainingFlag,
}

/// 1-d max pooling over `(N, C, L)` or `(C, L)`. PyTorch: `nn.MaxPool1d`.
///
/// ```
/// use tapegrad::{Tensor, nn::{MaxPool1d, Module}};
/// let x = Tensor::from_vec(vec![1., 3., 2., 5., 4., 0.], &[1, 6]).unwrap();
/// assert_eq!(MaxPool1d::new(2).forward(&x).to_vec(), vec![3., 5., 4.]);
/// ```
pub type MaxPool1d = MaxPool<1>;
/// 2-d max pooling over `(N, C, H, W)` or `(C, H, W)`. PyTorch: `nn.MaxPool2d`. Examples on
/// [`MaxPool`] and [`MaxPoolBuilder`].
pub type MaxPool2d = MaxPool<2>;

/// Builds a [`MaxPool`] with PyTorch's keyword arguments; every one has PyTorch's default
/// (`stride=None` = kernel_size, `padding=0`, `dilation=1`, `ceil_mode=False`). PyTorch:
/// `nn.MaxPool2d(kernel_size, stride=..., padding=..., dilation=..., ceil_mode=...)`.
///
/// ```
/// use tapegrad::{Tensor, nn::{MaxPool2d, Module}};
/// let pool = MaxPool2d::builder(3).stride(2).padding(1).dilation(1).ceil_mode(true).build();
/// assert_eq!(pool.forward(&Tensor::zeros(&[2, 3, 6, 6])).shape(), &[2, 3, 4, 4]);
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until .build()"]
pub struct MaxPoolBuilder<const N: usize> {
    kernel_size: IntOrTuple,
    stride: PoolStride,
    padding: IntOrTuple,
    dilation: IntOrTuple,
    ceil_mode: bool,
}

impl<const N: usize> MaxPool<N> {
    /// Max pooling with every optional argument at PyTorch's default. PyTorch:
    /// `nn.MaxPoolNd(kernel_size)`. Example on [`MaxPool`].
    pub fn new(kernel_size: impl Into<IntOrTuple>) -> Self {
        Self::builder(kernel_size).build()
    }

    /// A builder for stride, padding, dilation and ceil_mode. PyTorch: the keyword arguments
    /// of `nn.MaxPoolNd`. Example on [`MaxPoolBuilder`].
    pub fn builder(kernel_size: impl Into<IntOrTuple>) -> MaxPoolBuilder<N> {
        MaxPoolBuilder {
            kernel_size: kernel_size.into(),
            stride: PoolStride(None),
            padding: 0.into(),
            dilation: 1.into(),
            ceil_mode: false,
        }
    }

    /// The pooled output and PyTorch's indices (flat `h·W + w` offsets into each input
    /// plane; `l` for 1-d). PyTorch: the module built with `return_indices=True`.
    ///
    /// # Panics
    /// As [`Module::forward`].
    #[track_caller]
    pub fn forward_with_indices(&self, input: &Tensor) -> (Tensor, ArrayD<i64>) {
        let (out, indices) = self.pool(input, true);
        (out, indices.expect("asked for indices"))
    }

    #[track_caller]
    fn pool(&self, input: &Tensor, return_indices: bool) -> (Tensor, Option<ArrayD<i64>>) {
        let stride = PoolStride(Some(self.stride.clone()));
        max_pool_functional(
            N,
            input,
            &self.kernel_size,
            &stride,
            &self.padding,
            &self.dilation,
            self.ceil_mode,
            return_indices,
        )
    }

    /// `kernel_size` as given. PyTorch: `pool.kernel_size`. Like the getters below, it
    /// returns the constructor argument as given (an int stays one value):
    ///
    /// ```
    /// use tapegrad::nn::MaxPool2d;
    /// let pool = MaxPool2d::builder(3).padding([1, 0]).build();
    /// assert_eq!((pool.kernel_size(), pool.stride(), pool.padding()), (&[3][..], &[3][..], &[1, 0][..]));
    /// assert_eq!((pool.dilation(), pool.ceil_mode()), (&[1][..], false));
    /// ```
    pub fn kernel_size(&self) -> &[i64] {
        &self.kernel_size.0
    }
    /// `stride` (the kernel size when built without one, as PyTorch stores it). PyTorch:
    /// `pool.stride`. Example on [`MaxPool::kernel_size`].
    pub fn stride(&self) -> &[i64] {
        &self.stride.0
    }
    /// `padding` as given. PyTorch: `pool.padding`. Example on [`MaxPool::kernel_size`].
    pub fn padding(&self) -> &[i64] {
        &self.padding.0
    }
    /// `dilation` as given. PyTorch: `pool.dilation`. Example on [`MaxPool::kernel_size`].
    pub fn dilation(&self) -> &[i64] {
        &self.dilation.0
    }
    /// `ceil_mode`. PyTorch: `pool.ceil_mode`. Example on [`MaxPool::kernel_size`].
    pub fn ceil_mode(&self) -> bool {
        self.ceil_mode
    }
}

impl<const N: usize> MaxPoolBuilder<N> {
    /// `None` (the kernel size, the default), an int or one value per dim. PyTorch:
    /// `stride=`. Example on [`MaxPoolBuilder`].
    pub fn stride(mut self, stride: impl Into<PoolStride>) -> Self {
        self.stride = stride.into();
        self
    }
    /// Implicit −∞ padding on both sides: an int or one per dim, at most half the
    /// effective kernel size. Default 0. PyTorch: `padding=`. Example on [`MaxPoolBuilder`].
    pub fn padding(mut self, padding: impl Into<IntOrTuple>) -> Self {
        self.padding = padding.into();
        self
    }
    /// The spacing between window elements: an int or one per dim. Default 1. PyTorch:
    /// `dilation=`. Example on [`MaxPoolBuilder`].
    pub fn dilation(mut self, dilation: impl Into<IntOrTuple>) -> Self {
        self.dilation = dilation.into();
        self
    }
    /// Round the output size up instead of down (windows may then run past the input, but
    /// never start in the right padding). Default false. PyTorch: `ceil_mode=`. Example on
    /// [`MaxPoolBuilder`].
    pub fn ceil_mode(mut self, ceil_mode: bool) -> Self {
        self.ceil_mode = ceil_mode;
        self
    }
    /// The layer. PyTorch checks nothing here (an invalid configuration fails at forward).
    /// PyTorch: the `nn.MaxPoolNd(...)` constructor call. Example on [`MaxPoolBuilder`].
    pub fn build(self) -> MaxPool<N> {
        let stride = self.stride.0.unwrap_or_else(|| self.kernel_size.clone());
        MaxPool {
            kernel_size: self.kernel_size,
            stride,
            padding: self.padding,
            dilation: self.dilation,
            ceil_mode: self.ceil_mode,
            training: TrainingFlag::default(),
        }
    }
}

impl<const N: usize> Module for MaxPool<N> {
    /// `F.max_poolNd(input, kernel_size, stride, padding, dilation, ceil_mode)`.
    ///
    /// # Panics
    /// On a configuration or input PyTorch rejects, with PyTorch's message.
    #[track_caller]
    fn forward(&self, input: &Tensor) -> Tensor {
        self.pool(input, false).0
    }

    fn train(&self, mode: bool) {
        self.training.set(mode);
    }

    fn is_training(&self) -> bool {
        self.training.get()
    }
}

impl<const N: usize> fmt::Debug for MaxPool<N> {
    /// PyTorch's repr: `MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MaxPool{N}d(kernel_size={}, stride={}, padding={}, dilation={}, ceil_mode={})",
            Repr(&self.kernel_size.0),
            Repr(&self.stride.0),
            Repr(&self.padding.0),
            Repr(&self.dilation.0),
            py_bool(self.ceil_mode)
        )
    }
}

// ----- average pooling -------------------------------------------------------------------

/// 2-d average pooling over `(N, C, H, W)` or `(C, H, W)`: each output is its window's sum
/// divided by the window size, `out = Σ window / divisor`. PyTorch: `nn.AvgPool2d`. See
/// [`functional::avg_pool2d`](super::functional::avg_pool2d) for the window and divisor
/// rules.
///
/// ```
/// use tapegrad::{Tensor, nn::{AvgPool2d, Module}};
/// let pool = AvgPool2d::new(2);
/// let x = Tensor::from_vec((0..16).map(|v| v as f32).collect(), &[1, 4, 4]).unwrap();
/// assert_eq!(pool.forward(&x).to_vec(), vec![2.5, 4.5, 10.5, 12.5]);
/// let pool = AvgPool2d::builder(3).stride(2).padding(1).count_include_pad(false).build();
/// assert_eq!(pool.forward(&x).to_vec(), vec![2.5, 4.0, 8.5, 10.0]);
/// ```
#[derive(Clone)]
pub struct AvgPool2d {
    kernel_size: IntOrTuple,
    stride: IntOrTuple,
    padding: IntOrTuple,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: Option<i64>,
    training: TrainingFlag,
}

/// Builds an [`AvgPool2d`] with PyTorch's keyword arguments and defaults (`stride=None` =
/// kernel_size, `padding=0`, `ceil_mode=False`, `count_include_pad=True`,
/// `divisor_override=None`). PyTorch: `nn.AvgPool2d(kernel_size, stride=..., padding=...,
/// ceil_mode=..., count_include_pad=..., divisor_override=...)`.
///
/// ```
/// use tapegrad::{Tensor, nn::{AvgPool2d, Module}};
/// let pool = AvgPool2d::builder([2, 3]).stride([1, 2]).padding([1, 1]).ceil_mode(true)
///     .count_include_pad(false).divisor_override(None).build();
/// assert_eq!(pool.forward(&Tensor::ones(&[1, 4, 5])).to_vec(), vec![1.0; 5 * 3]);
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until .build()"]
pub struct AvgPool2dBuilder {
    kernel_size: IntOrTuple,
    stride: PoolStride,
    padding: IntOrTuple,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: Option<i64>,
}

impl AvgPool2d {
    /// Average pooling with PyTorch's defaults. PyTorch: `nn.AvgPool2d(kernel_size)`. Example
    /// on [`AvgPool2d`].
    pub fn new(kernel_size: impl Into<IntOrTuple>) -> AvgPool2d {
        AvgPool2d::builder(kernel_size).build()
    }

    /// A builder for the remaining arguments. PyTorch: the keyword arguments of
    /// `nn.AvgPool2d`. Example on [`AvgPool2dBuilder`].
    pub fn builder(kernel_size: impl Into<IntOrTuple>) -> AvgPool2dBuilder {
        AvgPool2dBuilder {
            kernel_size: kernel_size.into(),
            stride: PoolStride(None),
            padding: 0.into(),
            ceil_mode: false,
            count_include_pad: true,
            divisor_override: None,
        }
    }

    /// `kernel_size` as given. PyTorch: `pool.kernel_size`. Like the getters below, it
    /// returns the constructor argument as given:
    ///
    /// ```
    /// use tapegrad::nn::AvgPool2d;
    /// let pool = AvgPool2d::builder([2, 3]).divisor_override(4).build();
    /// assert_eq!((pool.kernel_size(), pool.stride(), pool.padding()), (&[2, 3][..], &[2, 3][..], &[0][..]));
    /// assert_eq!((pool.ceil_mode(), pool.count_include_pad(), pool.divisor_override()), (false, true, Some(4)));
    /// ```
    pub fn kernel_size(&self) -> &[i64] {
        &self.kernel_size.0
    }
    /// `stride` (the kernel size when built without one). PyTorch: `pool.stride`. Example on
    /// [`AvgPool2d::kernel_size`].
    pub fn stride(&self) -> &[i64] {
        &self.stride.0
    }
    /// `padding` as given. PyTorch: `pool.padding`. Example on [`AvgPool2d::kernel_size`].
    pub fn padding(&self) -> &[i64] {
        &self.padding.0
    }
    /// `ceil_mode`. PyTorch: `pool.ceil_mode`. Example on [`AvgPool2d::kernel_size`].
    pub fn ceil_mode(&self) -> bool {
        self.ceil_mode
    }
    /// `count_include_pad`. PyTorch: `pool.count_include_pad`. Example on
    /// [`AvgPool2d::kernel_size`].
    pub fn count_include_pad(&self) -> bool {
        self.count_include_pad
    }
    /// `divisor_override`. PyTorch: `pool.divisor_override`. Example on
    /// [`AvgPool2d::kernel_size`].
    pub fn divisor_override(&self) -> Option<i64> {
        self.divisor_override
    }
}

impl AvgPool2dBuilder {
    /// `None` (the kernel size, the default), an int or `[h, w]`. PyTorch: `stride=`. Example
    /// on [`AvgPool2dBuilder`].
    pub fn stride(mut self, stride: impl Into<PoolStride>) -> Self {
        self.stride = stride.into();
        self
    }
    /// Implicit zero padding on both sides: an int or `[h, w]`. Default 0. PyTorch:
    /// `padding=`. Example on [`AvgPool2dBuilder`].
    pub fn padding(mut self, padding: impl Into<IntOrTuple>) -> Self {
        self.padding = padding.into();
        self
    }
    /// Round the output size up instead of down. Default false. PyTorch: `ceil_mode=`.
    /// Example on [`AvgPool2dBuilder`].
    pub fn ceil_mode(mut self, ceil_mode: bool) -> Self {
        self.ceil_mode = ceil_mode;
        self
    }
    /// Whether the zero padding counts in the divisor. Default true. PyTorch:
    /// `count_include_pad=`. Example on [`AvgPool2d`].
    pub fn count_include_pad(mut self, count_include_pad: bool) -> Self {
        self.count_include_pad = count_include_pad;
        self
    }
    /// A fixed divisor instead of the window size (`None`, the default, or a value ≠ 0).
    /// PyTorch: `divisor_override=`. Example on [`AvgPool2d::kernel_size`].
    pub fn divisor_override(mut self, divisor_override: impl Into<Option<i64>>) -> Self {
        self.divisor_override = divisor_override.into();
        self
    }
    /// The layer. PyTorch checks nothing here (an invalid configuration fails at forward).
    /// PyTorch: the `nn.AvgPool2d(...)` constructor call. Example on [`AvgPool2dBuilder`].
    pub fn build(self) -> AvgPool2d {
        AvgPool2d {
            stride: self.stride.0.unwrap_or_else(|| self.kernel_size.clone()),
            kernel_size: self.kernel_size,
            padding: self.padding,
            ceil_mode: self.ceil_mode,
            count_include_pad: self.count_include_pad,
            divisor_override: self.divisor_override,
            training: TrainingFlag::default(),
        }
    }
}

impl Module for AvgPool2d {
    /// `F.avg_pool2d(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
    /// divisor_override)`.
    ///
    /// # Panics
    /// On a configuration or input PyTorch rejects, with PyTorch's message.
    #[track_caller]
    fn forward(&self, input: &Tensor) -> Tensor {
        avg_pool2d(
            input,
            self.kernel_size.clone(),
            self.stride.clone(),
            self.padding.clone(),
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )
    }

    fn train(&self, mode: bool) {
        self.training.set(mode);
    }

    fn is_training(&self) -> bool {
        self.training.get()
    }
}

impl fmt::Debug for AvgPool2d {
    /// PyTorch's repr: `AvgPool2d(kernel_size=2, stride=2, padding=0)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (k, s, p) = (Repr(&self.kernel_size.0), Repr(&self.stride.0), Repr(&self.padding.0));
        write!(f, "AvgPool2d(kernel_size={k}, stride={s}, padding={p})")
    }
}

// ----- adaptive average pooling ----------------------------------------------------------

/// 2-d adaptive average pooling to a fixed output size, whatever the input size: output
/// `(i, j)` is the mean of rows `[⌊i·H/OH⌋, ⌈(i+1)·H/OH⌉)` and columns `[⌊j·W/OW⌋,
/// ⌈(j+1)·W/OW⌉)`.
/// PyTorch: `nn.AdaptiveAvgPool2d(output_size)`. See
/// [`functional::adaptive_avg_pool2d`](super::functional::adaptive_avg_pool2d).
///
/// ```
/// use tapegrad::{Tensor, nn::{AdaptiveAvgPool2d, Module}};
/// let pool = AdaptiveAvgPool2d::new(1); // global average pooling
/// assert_eq!(pool.forward(&Tensor::ones(&[2, 8, 5, 7])).shape(), &[2, 8, 1, 1]);
/// let pool = AdaptiveAvgPool2d::new([3, 2]);
/// assert_eq!(pool.forward(&Tensor::ones(&[4, 5, 7])).shape(), &[4, 3, 2]);
/// assert_eq!(format!("{pool:?}"), "AdaptiveAvgPool2d(output_size=(3, 2))");
/// ```
#[derive(Clone)]
pub struct AdaptiveAvgPool2d {
    output_size: IntOrTuple,
    training: TrainingFlag,
}

impl AdaptiveAvgPool2d {
    /// An int (square output) or `[OH, OW]`. PyTorch: `nn.AdaptiveAvgPool2d(output_size)`.
    /// Example on [`AdaptiveAvgPool2d`].
    pub fn new(output_size: impl Into<IntOrTuple>) -> AdaptiveAvgPool2d {
        AdaptiveAvgPool2d { output_size: output_size.into(), training: TrainingFlag::default() }
    }

    /// `output_size` as given. PyTorch: `pool.output_size`.
    ///
    /// ```
    /// use tapegrad::nn::AdaptiveAvgPool2d;
    /// assert_eq!(AdaptiveAvgPool2d::new([3, 2]).output_size(), &[3, 2]);
    /// ```
    pub fn output_size(&self) -> &[i64] {
        &self.output_size.0
    }
}

impl Module for AdaptiveAvgPool2d {
    /// `F.adaptive_avg_pool2d(input, output_size)`.
    ///
    /// # Panics
    /// On a configuration or input PyTorch rejects, with PyTorch's message.
    #[track_caller]
    fn forward(&self, input: &Tensor) -> Tensor {
        adaptive_avg_pool2d(input, self.output_size.clone())
    }

    fn train(&self, mode: bool) {
        self.training.set(mode);
    }

    fn is_training(&self) -> bool {
        self.training.get()
    }
}

impl fmt::Debug for AdaptiveAvgPool2d {
    /// PyTorch's repr: `AdaptiveAvgPool2d(output_size=1)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AdaptiveAvgPool2d(output_size={})", Repr(&self.output_size.0))
    }
}
