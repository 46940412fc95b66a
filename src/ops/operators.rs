//! `std::ops` for tensors: `+ - * /` and unary `-` on `&Tensor`, `Tensor` and `f32`, in any
//! combination, as Python's operators on `torch.Tensor`. Each forwards to the named method
//! ([`Tensor::add`], ...); an `f32` operand becomes a 0-d tensor that does not require grad.

use std::ops::{Add, Div, Mul, Neg, Sub};

use crate::tensor::Tensor;

// Forwarding boilerplate only: every impl calls the method named in its invocation.
macro_rules! binary_operator {
    ($trait:ident, $method:ident) => {
        impl $trait<&Tensor> for &Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: &Tensor) -> Tensor {
                Tensor::$method(self, rhs)
            }
        }
        impl $trait<Tensor> for &Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: Tensor) -> Tensor {
                Tensor::$method(self, &rhs)
            }
        }
        impl $trait<&Tensor> for Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: &Tensor) -> Tensor {
                Tensor::$method(&self, rhs)
            }
        }
        impl $trait<Tensor> for Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: Tensor) -> Tensor {
                Tensor::$method(&self, &rhs)
            }
        }
        impl $trait<f32> for &Tensor {
            type Output = Tensor;
            fn $method(self, rhs: f32) -> Tensor {
                Tensor::$method(self, &Tensor::scalar(rhs))
            }
        }
        impl $trait<f32> for Tensor {
            type Output = Tensor;
            fn $method(self, rhs: f32) -> Tensor {
                Tensor::$method(&self, &Tensor::scalar(rhs))
            }
        }
        impl $trait<&Tensor> for f32 {
            type Output = Tensor;
            fn $method(self, rhs: &Tensor) -> Tensor {
                Tensor::$method(&Tensor::scalar(self), rhs)
            }
        }
        impl $trait<Tensor> for f32 {
            type Output = Tensor;
            fn $method(self, rhs: Tensor) -> Tensor {
                Tensor::$method(&Tensor::scalar(self), &rhs)
            }
        }
    };
}

binary_operator!(Add, add);
binary_operator!(Sub, sub);
binary_operator!(Mul, mul);
binary_operator!(Div, div);

impl Neg for &Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        Tensor::neg(self)
    }
}

impl Neg for Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        Tensor::neg(&self)
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    #[test]
    fn every_operand_combination_computes_the_same() {
        let a = Tensor::from_vec(vec![1.0, 2.0], &[2]).unwrap();
        let b = Tensor::from_vec(vec![4.0, 8.0], &[2]).unwrap();
        assert_eq!((&a + &b).to_vec(), vec![5.0, 10.0]);
        assert_eq!((a.clone() - &b).to_vec(), vec![-3.0, -6.0]);
        assert_eq!((&a * b.clone()).to_vec(), vec![4.0, 16.0]);
        assert_eq!((a.clone() / b.clone()).to_vec(), vec![0.25, 0.25]);
        assert_eq!((&a + 1.0).to_vec(), vec![2.0, 3.0]);
        assert_eq!((1.0 - &a).to_vec(), vec![0.0, -1.0]);
        assert_eq!((2.0 * a.clone()).to_vec(), vec![2.0, 4.0]);
        assert_eq!((8.0 / &b).to_vec(), vec![2.0, 1.0]);
        assert_eq!((-&a).to_vec(), vec![-1.0, -2.0]);
    }
}
