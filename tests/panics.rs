//! Misuse of tensor ops panics with a message that names the op and the shapes involved
//! (PyTorch's text where PyTorch has one); input from outside the program
//! (`Tensor::from_vec`) returns an error instead.

use std::panic::{self, AssertUnwindSafe};
use std::sync::Mutex;

use tapegrad::{Error, Tensor};

// ----- broadcasting --------------------------------------------------------------------------

#[test]
#[should_panic(
    expected = "add: The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1 (shapes [2, 3] and [4])"
)]
fn add_with_non_broadcastable_shapes() {
    let _ = Tensor::zeros(&[2, 3]).add(&Tensor::zeros(&[4]));
}

#[test]
#[should_panic(
    expected = "add: The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 2 (shapes [2, 1, 3] and [4, 2])"
)]
fn add_operator_with_non_broadcastable_shapes_names_the_aligned_dim() {
    // Aligned at the right: [2, 1, 3] vs [_, 4, 2] agree on dims 0 and 1, not on dim 2.
    let _ = &Tensor::zeros(&[2, 1, 3]) + &Tensor::zeros(&[4, 2]);
}

#[test]
#[should_panic(expected = "mul: The size of tensor a (5) must match the size of tensor b (3)")]
fn mul_operator_names_mul() {
    let _ = Tensor::zeros(&[5]) * Tensor::zeros(&[3]);
}

#[test]
#[should_panic(expected = "sub: The size of tensor a (2) must match the size of tensor b (3)")]
fn sub_names_sub() {
    let _ = Tensor::zeros(&[2]).sub(&Tensor::zeros(&[3]));
}

#[test]
#[should_panic(expected = "div: The size of tensor a (2) must match the size of tensor b (3)")]
fn div_names_div() {
    let _ = Tensor::ones(&[2]) / Tensor::ones(&[3]);
}

#[test]
#[should_panic(expected = "maximum: The size of tensor a (2) must match the size of tensor b (3)")]
fn maximum_names_maximum() {
    let _ = Tensor::ones(&[2]).maximum(&Tensor::ones(&[3]));
}

// ----- matmul --------------------------------------------------------------------------------

#[test]
#[should_panic(expected = "matmul: mat1 and mat2 shapes cannot be multiplied (3x4 and 5x6) (shapes [3, 4] and [5, 6])")]
fn matmul_inner_dim_mismatch() {
    let _ = Tensor::zeros(&[3, 4]).matmul(&Tensor::zeros(&[5, 6]));
}

#[test]
#[should_panic(
    expected = "matmul: mat1 and mat2 shapes cannot be multiplied (3x4 and 5x2) (shapes [2, 3, 4] and [5, 2])"
)]
fn batched_matmul_inner_dim_mismatch() {
    let _ = Tensor::zeros(&[2, 3, 4]).matmul(&Tensor::zeros(&[5, 2]));
}

#[test]
#[should_panic(
    expected = "matmul: inconsistent tensor size, expected tensor [3] and src [4] to have the same number of elements"
)]
fn matmul_of_vectors_with_different_lengths() {
    let _ = Tensor::zeros(&[3]).matmul(&Tensor::zeros(&[4]));
}

#[test]
#[should_panic(expected = "matmul: both arguments to matmul need to be at least 1D, but they are 0D and 1D")]
fn matmul_of_a_zero_dim_tensor() {
    let _ = Tensor::scalar(1.0).matmul(&Tensor::zeros(&[4]));
}

#[test]
#[should_panic(expected = "The size of tensor a (2) must match the size of tensor b (3)")]
fn matmul_with_non_broadcastable_batch_dims() {
    let _ = Tensor::zeros(&[2, 3, 4]).matmul(&Tensor::zeros(&[3, 4, 5]));
}

#[test]
#[should_panic(expected = "t: t() expects a tensor with <= 2 dimensions, but self is 3D")]
fn t_of_a_three_dim_tensor() {
    let _ = Tensor::zeros(&[2, 3, 4]).t();
}

// ----- reshape, expand, permute ---------------------------------------------------------------

#[test]
#[should_panic(expected = "reshape: shape '[3, 5]' is invalid for input of size 24")]
fn reshape_to_the_wrong_count() {
    let _ = Tensor::zeros(&[2, 3, 4]).reshape(&[3, 5]);
}

#[test]
#[should_panic(expected = "reshape: shape '[5, -1]' is invalid for input of size 24")]
fn reshape_with_an_inferred_dim_that_does_not_divide() {
    let _ = Tensor::zeros(&[2, 3, 4]).reshape(&[5, -1]);
}

#[test]
#[should_panic(expected = "reshape: only one dimension can be inferred")]
fn reshape_with_two_inferred_dims() {
    let _ = Tensor::zeros(&[2, 3, 4]).reshape(&[-1, -1]);
}

#[test]
#[should_panic(expected = "reshape: shape '[7]' is invalid for input of size 6")]
fn view_to_the_wrong_count() {
    let _ = Tensor::zeros(&[2, 3]).view(&[7]);
}

#[test]
#[should_panic(
    expected = "expand: The expanded size of the tensor (4) must match the existing size (3) at non-singleton dimension 1.  Target sizes: [2, 4].  Tensor sizes: [2, 3]"
)]
fn expand_to_an_incompatible_size() {
    let _ = Tensor::zeros(&[2, 3]).expand(&[2, 4]);
}

#[test]
#[should_panic(
    expected = "expand: the number of sizes provided (1) must be greater or equal to the number of dimensions in the tensor (2)"
)]
fn expand_to_fewer_dims() {
    let _ = Tensor::zeros(&[2, 3]).expand(&[3]);
}

#[test]
#[should_panic(expected = "permute: duplicate dims are not allowed ([0, 0, 1])")]
fn permute_with_duplicate_dims() {
    let _ = Tensor::zeros(&[2, 3, 4]).permute(&[0, 0, 1]);
}

#[test]
#[should_panic(expected = "permute: duplicate dims are not allowed ([2, 0, -1])")]
fn permute_with_a_duplicate_written_negatively() {
    let _ = Tensor::zeros(&[2, 3, 4]).permute(&[2, 0, -1]);
}

#[test]
#[should_panic(
    expected = "permute: number of dims don't match in permute: the tensor has 3 dims (shape [2, 3, 4]) but dims has 2 ([1, 0])"
)]
fn permute_with_the_wrong_number_of_dims() {
    let _ = Tensor::zeros(&[2, 3, 4]).permute(&[1, 0]);
}

// ----- cat, stack, narrow --------------------------------------------------------------------

#[test]
#[should_panic(
    expected = "cat: Sizes of tensors must match except in dimension 0. Expected size 3 but got size 4 for tensor number 1 in the list."
)]
fn cat_with_mismatched_sizes() {
    let _ = Tensor::cat(&[Tensor::zeros(&[2, 3]), Tensor::zeros(&[2, 4])], 0);
}

#[test]
#[should_panic(
    expected = "cat: Sizes of tensors must match except in dimension 1. Expected size 2 but got size 5 for tensor number 2 in the list."
)]
fn cat_along_dim_one_with_mismatched_rows() {
    let pieces = [Tensor::zeros(&[2, 3]), Tensor::zeros(&[2, 1]), Tensor::zeros(&[5, 3])];
    let _ = Tensor::cat(&pieces, 1);
}

#[test]
#[should_panic(expected = "cat: Tensors must have same number of dimensions: got 2 and 1 (shapes [2, 3] and [3])")]
fn cat_with_different_ranks() {
    let _ = Tensor::cat(&[Tensor::zeros(&[2, 3]), Tensor::zeros(&[3])], 0);
}

#[test]
#[should_panic(expected = "cat: torch.cat(): expected a non-empty list of Tensors")]
fn cat_of_nothing() {
    let empty: [Tensor; 0] = [];
    let _ = Tensor::cat(&empty, 0);
}

#[test]
#[should_panic(
    expected = "stack: stack expects each tensor to be equal size, but got [2, 3] at entry 0 and [2, 4] at entry 1"
)]
fn stack_with_different_shapes() {
    let _ = Tensor::stack(&[Tensor::zeros(&[2, 3]), Tensor::zeros(&[2, 4])], 0);
}

#[test]
#[should_panic(expected = "stack: stack expects a non-empty TensorList")]
fn stack_of_nothing() {
    let empty: Vec<Tensor> = Vec::new();
    let _ = Tensor::stack(&empty, 0);
}

#[test]
#[should_panic(expected = "narrow: start (5) + length (2) exceeds dimension size (6).")]
fn narrow_out_of_range() {
    let _ = Tensor::zeros(&[3, 6]).narrow(1, 5, 2);
}

#[test]
#[should_panic(expected = "narrow: start out of range (expected to be in range of [-6, 6], but got 7)")]
fn narrow_with_a_start_past_the_end() {
    let _ = Tensor::zeros(&[3, 6]).narrow(1, 7, 0);
}

#[test]
#[should_panic(expected = "slice: slice step must be positive")]
fn slice_with_a_zero_step() {
    let _ = Tensor::zeros(&[3, 6]).slice(1, 0, 6, 0);
}

// ----- dims out of range ---------------------------------------------------------------------

#[test]
#[should_panic(expected = "sum: Dimension out of range (expected to be in range of [-2, 1], but got 2)")]
fn sum_dim_out_of_range() {
    let _ = Tensor::zeros(&[2, 3]).sum_dim(2, false);
}

#[test]
#[should_panic(expected = "sum: Dimension out of range (expected to be in range of [-2, 1], but got -3)")]
fn sum_dim_negative_out_of_range() {
    let _ = Tensor::zeros(&[2, 3]).sum_dim([0, -3], false);
}

#[test]
#[should_panic(expected = "sum: dim 1 appears multiple times in the list of dims")]
fn sum_dim_repeated() {
    let _ = Tensor::zeros(&[2, 3]).sum_dim([1, -1], false);
}

#[test]
#[should_panic(expected = "mean: Dimension out of range (expected to be in range of [-3, 2], but got 3)")]
fn mean_dim_out_of_range() {
    let _ = Tensor::zeros(&[2, 3, 4]).mean_dim(3, true);
}

#[test]
#[should_panic(expected = "softmax: Dimension out of range (expected to be in range of [-2, 1], but got 2)")]
fn softmax_dim_out_of_range() {
    let _ = Tensor::zeros(&[2, 3]).softmax(2);
}

#[test]
#[should_panic(expected = "log_softmax: Dimension out of range (expected to be in range of [-2, 1], but got -3)")]
fn log_softmax_dim_out_of_range() {
    let _ = Tensor::zeros(&[2, 3]).log_softmax(-3);
}

#[test]
#[should_panic(expected = "transpose: Dimension out of range (expected to be in range of [-3, 2], but got 3)")]
fn transpose_dim_out_of_range() {
    let _ = Tensor::zeros(&[2, 3, 4]).transpose(0, 3);
}

#[test]
#[should_panic(expected = "unsqueeze: Dimension out of range (expected to be in range of [-3, 2], but got 3)")]
fn unsqueeze_dim_out_of_range() {
    let _ = Tensor::zeros(&[2, 3]).unsqueeze(3);
}

#[test]
#[should_panic(expected = "max: Dimension out of range (expected to be in range of [-2, 1], but got 2)")]
fn max_dim_out_of_range() {
    let _ = Tensor::zeros(&[2, 3]).max_dim(2, false);
}

#[test]
#[should_panic(expected = "amax: Dimension out of range (expected to be in range of [-2, 1], but got 5)")]
fn amax_dim_out_of_range() {
    let _ = Tensor::zeros(&[2, 3]).amax(5, false);
}

#[test]
#[should_panic(expected = "narrow: Dimension out of range (expected to be in range of [-2, 1], but got 2)")]
fn narrow_dim_out_of_range() {
    let _ = Tensor::zeros(&[2, 3]).narrow(2, 0, 1);
}

#[test]
#[should_panic(expected = "cat: Dimension out of range (expected to be in range of [-2, 1], but got 2)")]
fn cat_dim_out_of_range() {
    let _ = Tensor::cat(&[Tensor::zeros(&[2, 3]), Tensor::zeros(&[2, 3])], 2);
}

#[test]
#[should_panic(expected = "flatten: flatten() has invalid args: start_dim cannot come after end_dim")]
fn flatten_with_start_after_end() {
    let _ = Tensor::zeros(&[2, 3, 4]).flatten(2, 1);
}

// ----- item, backward ------------------------------------------------------------------------

#[test]
#[should_panic(expected = "item: a Tensor with 6 elements cannot be converted to Scalar (shape [2, 3])")]
fn item_on_a_multi_element_tensor() {
    let _ = Tensor::zeros(&[2, 3]).item();
}

#[test]
#[should_panic(expected = "item: a Tensor with 0 elements cannot be converted to Scalar (shape [0])")]
fn item_on_an_empty_tensor() {
    let _ = Tensor::zeros(&[0]).item();
}

#[test]
#[should_panic(
    expected = "backward: grad can be implicitly created only for scalar outputs, but this tensor has shape [2, 3]"
)]
fn backward_on_a_non_scalar() {
    let x = Tensor::ones(&[2, 3]).requires_grad_(true);
    (&x * 2.0).backward();
}

#[test]
#[should_panic(expected = "backward: element 0 of tensors does not require grad and does not have a grad_fn")]
fn backward_on_a_tensor_that_does_not_require_grad() {
    let x = Tensor::ones(&[3]).requires_grad_(true);
    x.detach().sum().backward();
}

#[test]
#[should_panic(
    expected = "backward: Mismatch in shape: grad_output[0] has a shape of [3] and output[0] has a shape of [2, 3]"
)]
fn backward_with_a_gradient_of_the_wrong_shape() {
    let x = Tensor::ones(&[2, 3]).requires_grad_(true);
    (&x * 2.0).backward_with(&Tensor::ones(&[3]));
}

#[test]
#[should_panic(expected = "retain_grad: can't retain_grad on Tensor that has requires_grad=False")]
fn retain_grad_on_a_tensor_without_grad() {
    Tensor::ones(&[2]).retain_grad();
}

#[test]
#[should_panic(expected = "copy_: the shape of the source [3] must match the destination [2]")]
fn copy_from_a_different_shape() {
    Tensor::ones(&[2]).copy_(&Tensor::ones(&[3]));
}

// ----- errors, not panics --------------------------------------------------------------------

#[test]
fn from_vec_with_the_wrong_length_is_an_error() {
    let result = panic::catch_unwind(|| Tensor::from_vec(vec![1.0, 2.0, 3.0], &[2, 2]));
    let error = result.expect("from_vec must not panic").expect_err("wrong length is an Err");
    assert!(matches!(error, Error::Shape(_)), "{error:?}");
    // Names the shape asked for, the length given and the length expected.
    assert_eq!(error.message(), "shape [2, 2] is invalid for input of size 3 (expected 4 values)");
}

#[test]
fn from_vec_errors_for_too_many_values_and_empty_shapes() {
    assert!(Tensor::from_vec(vec![0.0; 5], &[2, 2]).is_err());
    assert!(Tensor::from_vec(vec![1.0], &[0]).is_err());
    assert!(Tensor::from_vec(vec![], &[]).is_err()); // a 0-d tensor holds one value
    assert!(Tensor::from_vec(vec![], &[0, 3]).is_ok());
    assert!(Tensor::from_vec(vec![7.0], &[]).is_ok());
}

#[test]
fn from_vec_with_an_overflowing_shape_is_an_error_not_a_panic() {
    let result = panic::catch_unwind(|| Tensor::from_vec(vec![1.0], &[usize::MAX, 2]));
    let error = result.expect("from_vec must not panic").expect_err("overflow is an Err");
    assert!(matches!(error, Error::Shape(_)), "{error:?}");
}

// ----- the panics point at the caller ----------------------------------------------------------

/// Where the last panic on this thread happened, recorded by a hook that then defers to the
/// previous one (so other tests still print their panics as usual).
/// Closures that are each expected to panic, with a name for the report.
type PanicCases = Vec<(&'static str, Box<dyn FnOnce()>)>;

static LAST_LOCATION: Mutex<Vec<(std::thread::ThreadId, String)>> = Mutex::new(Vec::new());

fn panic_location(f: impl FnOnce()) -> String {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if let Some(location) = info.location() {
                let mut log = LAST_LOCATION.lock().unwrap_or_else(|e| e.into_inner());
                log.retain(|(id, _)| *id != std::thread::current().id());
                log.push((std::thread::current().id(), location.file().to_string()));
            }
            previous(info);
        }));
    });
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    assert!(result.is_err(), "the closure was expected to panic");
    let log = LAST_LOCATION.lock().unwrap_or_else(|e| e.into_inner());
    log.iter()
        .find(|(id, _)| *id == std::thread::current().id())
        .map(|(_, file)| file.clone())
        .expect("the hook saw the panic")
}

#[test]
fn shape_panics_are_reported_at_the_callers_line() {
    // #[track_caller] all the way down: the location is this file, not the crate's sources.
    let cases: PanicCases = vec![
        ("add", Box::new(|| drop(&Tensor::zeros(&[2]) + &Tensor::zeros(&[3])))),
        ("matmul", Box::new(|| drop(Tensor::zeros(&[2, 3]).matmul(&Tensor::zeros(&[4, 2]))))),
        ("reshape", Box::new(|| drop(Tensor::zeros(&[2, 3]).reshape(&[4])))),
        ("softmax", Box::new(|| drop(Tensor::zeros(&[2, 3]).softmax(5)))),
        ("cat", Box::new(|| drop(Tensor::cat(&[Tensor::zeros(&[2]), Tensor::zeros(&[2, 1])], 0)))),
        ("item", Box::new(|| _ = Tensor::zeros(&[2]).item())),
        ("backward", Box::new(|| (&Tensor::ones(&[2]).requires_grad_(true) * 2.0).backward())),
    ];
    for (op, case) in cases {
        let file = panic_location(case);
        assert!(file.ends_with("panics.rs"), "{op}: the panic points at {file}, not at the caller in tests/panics.rs");
    }
}

#[test]
fn dim_list_and_expand_panics_are_reported_at_the_callers_line() {
    let cases: PanicCases = vec![
        ("sum_dim", Box::new(|| drop(Tensor::zeros(&[2, 3]).sum_dim(2, false)))),
        ("mean_dim", Box::new(|| drop(Tensor::zeros(&[2, 3]).mean_dim([0, 5], false)))),
        ("amax", Box::new(|| drop(Tensor::zeros(&[2, 3]).amax(-3, false)))),
        ("permute out of range", Box::new(|| drop(Tensor::zeros(&[2, 3]).permute(&[0, 2])))),
        ("expand", Box::new(|| drop(Tensor::zeros(&[2, 3]).expand(&[2, 4])))),
    ];
    let mut wrong = Vec::new();
    for (op, case) in cases {
        let file = panic_location(case);
        if !file.ends_with("panics.rs") {
            wrong.push(format!("{op} → {file}"));
        }
    }
    assert!(wrong.is_empty(), "panics not reported at the caller: {wrong:?}");
}

#[test]
#[should_panic(expected = "expand: ")]
fn expand_with_a_negative_size_names_the_op() {
    let _ = Tensor::zeros(&[1]).expand(&[-2]);
}

#[test]
#[should_panic(
    expected = "expand: The expanded size of the tensor (-2) isn't allowed in a leading, non-existing dimension 0"
)]
fn expand_with_a_negative_leading_size_names_that_size() {
    let _ = Tensor::zeros(&[3]).expand(&[-2, 3]);
}
