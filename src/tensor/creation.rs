//! Creating tensors: PyTorch's creation ops (`torch.full`, `zeros`, `ones`, the `_like`
//! variants, `arange`, `eye`, `rand`, `randn`). The element data is built here and handed to
//! [`Tensor::from_vec`] or [`Tensor::from_shared`].

use ndarray::{ArrayD, IxDyn};

use super::{Tensor, try_filled};
use crate::error::Result;
use crate::random::with_generator;

impl Tensor {
    /// A 0-dimensional tensor holding `value`. PyTorch: `torch.tensor(value)`.
    ///
    /// ```
    /// let t = tapegrad::Tensor::scalar(3.0);
    /// assert_eq!((t.dim(), t.numel(), t.item()), (0, 1, 3.0));
    /// ```
    pub fn scalar(value: f32) -> Tensor {
        Tensor::from_shared(ArrayD::from_elem(IxDyn(&[]), value).into_shared())
    }

    /// A tensor of `shape` filled with `value`. PyTorch: `torch.full(shape, value)`.
    ///
    /// # Panics
    /// If the number of elements overflows `usize`, or the memory cannot be allocated (a
    /// panic naming the shape, where Rust's `Vec` would abort the process).
    ///
    /// ```
    /// let t = tapegrad::Tensor::full(&[2, 3], 7.0);
    /// assert_eq!((t.shape(), t.to_vec()), (&[2, 3][..], vec![7.0; 6]));
    /// ```
    #[track_caller]
    pub fn full(shape: &[usize], value: f32) -> Tensor {
        Tensor::try_full(shape, value).unwrap_or_else(|e| panic!("full: {}", e.message()))
    }

    /// [`Tensor::full`] for sizes that come from a configuration (a layer's constructor):
    /// `Err` when the element count overflows or the memory cannot be allocated.
    pub(crate) fn try_full(shape: &[usize], value: f32) -> Result<Tensor> {
        let data = try_filled(shape, value)?;
        Tensor::from_vec(data, shape)
    }

    /// All zeros. PyTorch: `torch.zeros(shape)`.
    ///
    /// ```
    /// let t = tapegrad::Tensor::zeros(&[2, 2]);
    /// assert_eq!(t.to_vec(), vec![0.0; 4]);
    /// ```
    #[track_caller]
    pub fn zeros(shape: &[usize]) -> Tensor {
        Tensor::full(shape, 0.0)
    }

    /// All ones. PyTorch: `torch.ones(shape)`.
    ///
    /// ```
    /// let t = tapegrad::Tensor::ones(&[3]);
    /// assert_eq!(t.sum().item(), 3.0);
    /// ```
    #[track_caller]
    pub fn ones(shape: &[usize]) -> Tensor {
        Tensor::full(shape, 1.0)
    }

    /// Zeros with the shape of `other`. PyTorch: `torch.zeros_like(other)`.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let z = Tensor::zeros_like(&Tensor::ones(&[2, 3]));
    /// assert_eq!((z.shape(), z.sum().item()), (&[2, 3][..], 0.0));
    /// ```
    pub fn zeros_like(other: &Tensor) -> Tensor {
        Tensor::zeros(other.shape())
    }

    /// Ones with the shape of `other`. PyTorch: `torch.ones_like(other)`.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let o = Tensor::ones_like(&Tensor::zeros(&[2, 3]));
    /// assert_eq!((o.shape(), o.sum().item()), (&[2, 3][..], 6.0));
    /// ```
    pub fn ones_like(other: &Tensor) -> Tensor {
        Tensor::ones(other.shape())
    }

    /// `value` with the shape of `other`. PyTorch: `torch.full_like(other, value)`.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let f = Tensor::full_like(&Tensor::zeros(&[2]), 0.5);
    /// assert_eq!(f.to_vec(), vec![0.5, 0.5]);
    /// ```
    pub fn full_like(other: &Tensor, value: f32) -> Tensor {
        Tensor::full(other.shape(), value)
    }

    /// The 1-D tensor `[start, start + step, ...]` up to but excluding `end`, with
    /// `ceil((end − start) / step)` elements. PyTorch: `torch.arange(start, end, step)`.
    ///
    /// # Panics
    /// If `step` is zero or has the wrong sign for the range (PyTorch's
    /// "upper bound and larger bound inconsistent with step sign").
    ///
    /// ```
    /// let t = tapegrad::Tensor::arange(0.0, 1.0, 0.25);
    /// assert_eq!(t.to_vec(), vec![0.0, 0.25, 0.5, 0.75]);
    /// ```
    #[track_caller]
    pub fn arange(start: f32, end: f32, step: f32) -> Tensor {
        assert!(step != 0.0 && step.is_finite(), "arange: step must be nonzero and finite, got {step}");
        assert!(
            (step > 0.0 && end >= start) || (step < 0.0 && end <= start),
            "arange: upper bound and larger bound inconsistent with step sign (start {start}, end {end}, step {step})"
        );
        // Computed in f64 as PyTorch does, so 0.1-steps do not gain a spurious element.
        let count = ((end as f64 - start as f64) / step as f64).ceil() as usize;
        let data = (0..count).map(|i| (start as f64 + i as f64 * step as f64) as f32).collect();
        Tensor::from_vec(data, &[count]).expect("arange length matches by construction")
    }

    /// The `n × n` identity matrix, `Iᵢⱼ = 1` if `i = j` else `0`. PyTorch: `torch.eye(n)`.
    ///
    /// ```
    /// let i = tapegrad::Tensor::eye(2);
    /// assert_eq!(i.to_vec(), vec![1.0, 0.0, 0.0, 1.0]);
    /// ```
    pub fn eye(n: usize) -> Tensor {
        Tensor::from_shared(
            ArrayD::from_shape_fn(IxDyn(&[n, n]), |i| if i[0] == i[1] { 1.0 } else { 0.0 }).into_shared(),
        )
    }

    /// Uniform samples from `[0, 1)`, drawn from the global generator
    /// ([`manual_seed`](crate::manual_seed)). PyTorch: `torch.rand(shape)`.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// tapegrad::manual_seed(42);
    /// let u = Tensor::rand(&[10_000]);
    /// assert!(u.to_vec().iter().all(|v| (0.0..1.0).contains(v)));
    /// assert!((u.mean().item() - 0.5).abs() < 0.02); // E[u] = ½, standard error ≈ 0.003
    /// ```
    #[track_caller]
    pub fn rand(shape: &[usize]) -> Tensor {
        let mut data = try_filled(shape, 0.0).unwrap_or_else(|e| panic!("rand: {}", e.message()));
        with_generator(|g| data.iter_mut().for_each(|v| *v = g.uniform()));
        Tensor::from_vec(data, shape).expect("length matches by construction")
    }

    /// Standard normal samples `N(0, 1)`, drawn from the global generator
    /// ([`manual_seed`](crate::manual_seed)). PyTorch: `torch.randn(shape)`.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// tapegrad::manual_seed(0);
    /// let x = Tensor::randn(&[10_000]);
    /// assert!(x.mean().item().abs() < 0.05); // mean 0, standard error 1/√10000 = 0.01
    /// assert!((x.pow(2.0).mean().item() - 1.0).abs() < 0.1); // variance 1
    /// ```
    #[track_caller]
    pub fn randn(shape: &[usize]) -> Tensor {
        let mut data = try_filled(shape, 0.0).unwrap_or_else(|e| panic!("randn: {}", e.message()));
        with_generator(|g| data.iter_mut().for_each(|v| *v = g.normal()));
        Tensor::from_vec(data, shape).expect("length matches by construction")
    }
}
