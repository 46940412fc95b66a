//! Errors (PyTorch's messages, via `should_panic` and `Result`) and the module forms of the
//! losses: their defaults, their constructors' validation, and forward = functional form.

use tapegrad::nn::functional::{
    self as F, BceWithLogitsOptions, CrossEntropyOptions, HuberOptions, NllOptions, Reduction, SmoothL1Options,
};
use tapegrad::nn::{BceLoss, BceWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MseLoss, NllLoss, SmoothL1Loss};
use tapegrad::{Error, Tensor};

use super::{tensor, uniform};

// ----- errors ----------------------------------------------------------------------------------

#[test]
#[should_panic(expected = "cross_entropy: Target 5 is out of bounds.")]
fn cross_entropy_rejects_a_class_index_out_of_range() {
    F::cross_entropy(&Tensor::zeros(&[2, 5]), &tensor(&[0.0, 5.0], &[2]));
}

#[test]
#[should_panic(expected = "nll_loss: Target -1 is out of bounds.")]
fn nll_loss_rejects_a_negative_class_index_that_is_not_ignore_index() {
    F::nll_loss(&Tensor::zeros(&[2, 5]), &tensor(&[0.0, -1.0], &[2]));
}

#[test]
#[should_panic(expected = "cross_entropy: class-index targets must hold integer values, got 1.5")]
fn cross_entropy_rejects_a_fractional_class_index() {
    F::cross_entropy(&Tensor::zeros(&[2, 5]), &tensor(&[0.0, 1.5], &[2]));
}

#[test]
#[should_panic(
    expected = "cross_entropy: Expected input batch_size (4) to match target batch_size (3). (input shape [4, 5], target shape [3])"
)]
fn cross_entropy_names_both_shapes_when_the_batch_sizes_differ() {
    F::cross_entropy(&Tensor::zeros(&[4, 5]), &Tensor::zeros(&[3]));
}

#[test]
#[should_panic(expected = "nll_loss: Expected target size [2, 4], got [2, 5] (input shape [2, 3, 4]")]
fn nll_loss_names_both_shapes_for_a_k_dim_mismatch() {
    F::nll_loss(&Tensor::zeros(&[2, 3, 4]), &Tensor::zeros(&[2, 5]));
}

#[test]
#[should_panic(
    expected = "cross_entropy: weight tensor should be defined either for all 5 classes or no classes but got weight tensor of shape: [4]"
)]
fn cross_entropy_rejects_a_weight_of_the_wrong_size() {
    let options = CrossEntropyOptions { weight: Some(Tensor::ones(&[4])), ..Default::default() };
    F::cross_entropy_with(&Tensor::zeros(&[2, 5]), &Tensor::zeros(&[2]), &options);
}

#[test]
#[should_panic(expected = "cross_entropy: label_smoothing must be between 0.0 and 1.0. Got: 1.5")]
fn cross_entropy_rejects_label_smoothing_above_one() {
    let options = CrossEntropyOptions { label_smoothing: 1.5, ..Default::default() };
    F::cross_entropy_with(&Tensor::zeros(&[2, 5]), &Tensor::zeros(&[2]), &options);
}

#[test]
#[should_panic(expected = "cross_entropy: ignore_index is not supported for floating point target")]
fn cross_entropy_rejects_ignore_index_with_probabilities() {
    let options = CrossEntropyOptions { ignore_index: 0, ..Default::default() };
    F::cross_entropy_with(&Tensor::zeros(&[2, 5]), &Tensor::zeros(&[2, 5]), &options);
}

#[test]
#[should_panic(expected = "cross_entropy: Expected 1 or more dimensions (got 0)")]
fn cross_entropy_rejects_a_0d_input() {
    F::cross_entropy(&Tensor::scalar(1.0), &Tensor::scalar(0.0));
}

#[test]
#[should_panic(
    expected = "binary_cross_entropy: Using a target size ([3]) that is different to the input size ([3, 4]) is deprecated. Please ensure they have the same size."
)]
fn bce_rejects_different_shapes() {
    F::binary_cross_entropy(&Tensor::full(&[3, 4], 0.5), &Tensor::zeros(&[3]));
}

#[test]
#[should_panic(expected = "binary_cross_entropy: all elements of input should be between 0 and 1")]
fn bce_rejects_inputs_outside_0_1() {
    F::binary_cross_entropy(&tensor(&[0.5, 1.5], &[2]), &Tensor::zeros(&[2]));
}

#[test]
#[should_panic(
    expected = "binary_cross_entropy_with_logits: Target size ([3]) must be the same as input size ([3, 4])"
)]
fn bce_with_logits_rejects_different_shapes() {
    F::binary_cross_entropy_with_logits(&Tensor::zeros(&[3, 4]), &Tensor::zeros(&[3]));
}

#[test]
#[should_panic(
    expected = "binary_cross_entropy_with_logits: pos_weight of shape [5] cannot be broadcast to the input's shape [3, 4]"
)]
fn bce_with_logits_rejects_a_pos_weight_that_does_not_broadcast() {
    let options = BceWithLogitsOptions { pos_weight: Some(Tensor::ones(&[5])), ..Default::default() };
    F::binary_cross_entropy_with_logits_with(&Tensor::zeros(&[3, 4]), &Tensor::zeros(&[3, 4]), &options);
}

#[test]
#[should_panic(expected = "mse_loss: The size of tensor a (4) must match the size of tensor b (3)")]
fn mse_rejects_shapes_that_do_not_broadcast() {
    F::mse_loss(&Tensor::zeros(&[2, 4]), &Tensor::zeros(&[3]));
}

#[test]
#[should_panic(expected = "huber_loss does not support non-positive values for delta.")]
fn huber_rejects_a_non_positive_delta() {
    F::huber_loss_with(&Tensor::zeros(&[2]), &Tensor::zeros(&[2]), HuberOptions { delta: 0.0, ..Default::default() });
}

#[test]
#[should_panic(expected = "smooth_l1_loss does not support negative values for beta.")]
fn smooth_l1_rejects_a_negative_beta() {
    let options = SmoothL1Options { beta: -0.5, ..Default::default() };
    F::smooth_l1_loss_with(&Tensor::zeros(&[2]), &Tensor::zeros(&[2]), options);
}

#[test]
fn reduction_parses_pytorch_names_and_rejects_others_with_pytorchs_value_error() {
    assert_eq!("none".parse::<Reduction>().unwrap(), Reduction::None);
    assert_eq!("mean".parse::<Reduction>().unwrap(), Reduction::Mean);
    assert_eq!("sum".parse::<Reduction>().unwrap(), Reduction::Sum);
    assert_eq!(
        "elementwise_sum".parse::<Reduction>(),
        Err(Error::Value("elementwise_sum is not a valid value for reduction".into()))
    );
}

// ----- modules -------------------------------------------------------------------------------

#[test]
fn modules_have_pytorchs_defaults() {
    let ce = CrossEntropyLoss::new();
    let o = ce.options();
    assert!(o.weight.is_none());
    assert_eq!((o.ignore_index, o.reduction, o.label_smoothing), (-100, Reduction::Mean, 0.0));
    let nll = NllLoss::new();
    assert_eq!((nll.options().ignore_index, nll.options().reduction), (-100, Reduction::Mean));
    assert_eq!(MseLoss::new().reduction(), Reduction::Mean);
    assert_eq!(L1Loss::new().reduction(), Reduction::Mean);
    assert_eq!(SmoothL1Loss::new().options(), SmoothL1Options { reduction: Reduction::Mean, beta: 1.0 });
    assert_eq!(HuberLoss::new().options(), HuberOptions { reduction: Reduction::Mean, delta: 1.0 });
    assert!(BceLoss::new().options().weight.is_none());
    let bce_logits = BceWithLogitsLoss::new();
    assert!(bce_logits.options().weight.is_none() && bce_logits.options().pos_weight.is_none());
    assert_eq!(bce_logits.options().reduction, Reduction::Mean);
}

#[test]
fn module_constructors_reject_what_pytorch_rejects_with_its_text() {
    let smoothing = |v: f32| CrossEntropyOptions { label_smoothing: v, ..Default::default() };
    assert_eq!(
        CrossEntropyLoss::with_options(smoothing(1.5)).unwrap_err(),
        Error::Runtime("label_smoothing must be between 0.0 and 1.0. Got: 1.5".into())
    );
    assert!(CrossEntropyLoss::with_options(smoothing(-0.1)).is_err());
    assert!(CrossEntropyLoss::with_options(smoothing(1.0)).is_ok());
    let matrix_weight = NllOptions { weight: Some(Tensor::ones(&[2, 2])), ..Default::default() };
    assert!(matches!(NllLoss::with_options(matrix_weight), Err(Error::Runtime(_))));
    assert_eq!(
        SmoothL1Loss::with_options(SmoothL1Options { beta: -1.0, ..Default::default() }).unwrap_err().message(),
        "smooth_l1_loss does not support negative values for beta."
    );
    assert!(SmoothL1Loss::with_options(SmoothL1Options { beta: 0.0, ..Default::default() }).is_ok());
    assert!(HuberLoss::with_options(HuberOptions { delta: -1.0, ..Default::default() }).is_err());
}

#[test]
fn module_forward_equals_the_functional_form() {
    let x = tensor(&uniform(41, 6, -1.0, 1.0), &[2, 3]);
    let t = tensor(&uniform(42, 6, 0.0, 1.0), &[2, 3]);
    let classes = tensor(&[2.0, 0.0], &[2]);
    let same = |a: Tensor, b: Tensor| assert_eq!(a.to_vec(), b.to_vec());
    let ce = CrossEntropyOptions { label_smoothing: 0.2, reduction: Reduction::Sum, ..Default::default() };
    same(
        CrossEntropyLoss::with_options(ce.clone()).unwrap().forward(&x, &classes),
        F::cross_entropy_with(&x, &classes, &ce),
    );
    same(NllLoss::new().forward(&x, &classes), F::nll_loss(&x, &classes));
    same(MseLoss::with_reduction(Reduction::None).forward(&x, &t), F::mse_loss_with(&x, &t, Reduction::None));
    same(L1Loss::new().forward(&x, &t), F::l1_loss(&x, &t));
    same(SmoothL1Loss::new().forward(&x, &t), F::smooth_l1_loss(&x, &t));
    same(HuberLoss::new().forward(&x, &t), F::huber_loss(&x, &t));
    same(BceLoss::new().forward(&t, &t), F::binary_cross_entropy(&t, &t));
    same(BceWithLogitsLoss::new().forward(&x, &t), F::binary_cross_entropy_with_logits(&x, &t));
}
