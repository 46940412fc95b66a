//! losses.json: work in progress (issue 4).

use super::{Case, Outcome, Tolerance};

pub fn run(_case: &Case, _forward: Tolerance, _grad: Tolerance) -> Outcome {
    Outcome::Unsupported
}
