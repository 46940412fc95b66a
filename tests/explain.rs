//! The tools that explain: `conv_output_shape` agrees with what the convolution actually
//! produces, and names PyTorch's errors.

use tapegrad::Tensor;
use tapegrad::nn::functional::{self as F, IntOrTuple, PaddingArg};

#[test]
fn predicted_sizes_match_the_convolution_on_many_configurations() {
    let mut checked = 0;
    for (h, w) in [(4, 4), (7, 5), (9, 12)] {
        for kernel in [[1, 1], [2, 2], [3, 2], [4, 3]] {
            for stride in [1, 2, 3] {
                for dilation in [1, 2] {
                    let paddings: Vec<PaddingArg> = if stride == 1 {
                        vec![0.into(), [1, 2].into(), "valid".into(), "same".into()]
                    } else {
                        vec![0.into(), [1, 2].into(), "valid".into()]
                    };
                    for padding in paddings {
                        let Ok(dims) = F::conv_output_shape(&[h, w], kernel, stride, padding.clone(), dilation) else {
                            continue; // kernel larger than the padded input: the conv panics too
                        };
                        let x = Tensor::zeros(&[1, 1, h, w]);
                        let k = Tensor::zeros(&[1, 1, kernel[0], kernel[1]]);
                        let y = F::conv2d(&x, &k, None, stride, padding.clone(), IntOrTuple(vec![dilation]), 1);
                        assert_eq!(
                            &y.shape()[2..],
                            &[dims[0].output, dims[1].output],
                            "{padding:?} {kernel:?} s{stride} d{dilation}"
                        );
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(checked > 200, "only {checked} configurations fit");
}

#[test]
fn same_padding_splits_the_odd_total_with_the_extra_after() {
    let dims = F::conv_output_shape(&[6, 5, 7], [2, 3, 4], 1, "same", [3, 1, 1]).unwrap();
    let pads: Vec<(usize, usize)> = dims.iter().map(|d| (d.pad_before, d.pad_after)).collect();
    // totals dilation·(k − 1): 3, 2, 3 → (1, 2), (1, 1), (1, 2)
    assert_eq!(pads, vec![(1, 2), (1, 1), (1, 2)]);
    assert_eq!(dims.iter().map(|d| d.name).collect::<Vec<_>>(), ["D_out", "H_out", "W_out"]);
}

#[test]
fn invalid_configurations_are_pytorchs_errors() {
    let err = F::conv_output_shape(&[6, 6], 3, 2, "same", 1).unwrap_err();
    assert_eq!(err.message(), "padding='same' is not supported for strided convolutions");
    let err = F::conv_output_shape(&[5, 5], 6, 1, 0, 1).unwrap_err();
    assert_eq!(
        err.message(),
        "Calculated padded input size per channel: (5 x 5). Kernel size: (6 x 6). Kernel size can't be greater than actual input size"
    );
    assert!(
        F::conv_output_shape(&[5, 5], 3, 1, "foo", 1).unwrap_err().message().contains("Invalid padding string 'foo'")
    );
    assert!(F::conv_output_shape(&[5, 5], 3, 0, 0, 1).is_err());
}
