//! Bad optimiser-state files never crash: random corruptions of real `save_optimizer` files
//! (truncation, bit flips, lying header counts, huge declared sizes, lying numbers in the
//! JSON metadata) fed to `serialize::load_optimizer`, and any state it returns handed on to
//! fresh optimisers' `load_state_dict` and `step`. A file that is not valid safetensors
//! must be rejected; nothing may panic, and no allocation may exceed what the file's size
//! justifies (see fuzz_loaders.rs for the allocation counter).
//!
//! Case counts are in the test names.

mod common;
#[path = "common/files.rs"]
mod files;

use std::sync::OnceLock;

use common::catch_quietly;
use files::*;
use proptest::prelude::*;
use tapegrad::Tensor;
use tapegrad::nn::Parameter;
use tapegrad::optim::{Adam, Optimizer, OptimizerState, Sgd};
use tapegrad::serialize::{load_optimizer, save_optimizer};

#[global_allocator]
static ALLOCATOR: PeakAllocator = PeakAllocator;

// ----- optimiser state ---------------------------------------------------------------------------

const PARAM_SHAPES: [&[usize]; 2] = [&[3, 2], &[4]];

fn params() -> Vec<Parameter> {
    PARAM_SHAPES.iter().map(|s| Parameter::new(Tensor::ones(s))).collect()
}

/// The bytes of a real optimiser checkpoint: Adam (amsgrad) or SGD with momentum after two
/// steps on two parameters.
fn optimizer_file(adam: bool) -> &'static [u8] {
    static FILES: OnceLock<[Vec<u8>; 2]> = OnceLock::new();
    &FILES.get_or_init(|| {
        [false, true].map(|adam| {
            let params = params();
            let mut optimizer: Box<dyn Optimizer> = if adam {
                Box::new(Adam::builder(params.clone()).amsgrad(true).build().unwrap())
            } else {
                Box::new(Sgd::builder(params.clone(), 0.1).momentum(0.9).build().unwrap())
            };
            for _ in 0..2 {
                optimizer.zero_grad();
                params.iter().map(|p| p.pow(2.0).sum()).fold(Tensor::scalar(0.0), |a, b| a.add(&b)).backward();
                optimizer.step();
            }
            let path = scratch("optimizer");
            save_optimizer(&optimizer.state_dict(), &path).unwrap();
            let bytes = std::fs::read(&path).unwrap();
            std::fs::remove_file(&path).unwrap();
            bytes
        })
    })[adam as usize]
}

/// Loads the file, then hands a successful result to fresh optimisers of both kinds and,
/// if one accepts it, steps it. None of this may panic. A file the safetensors oracle
/// rejects must be rejected.
fn check_optimizer_file(bytes: &[u8]) -> Option<OptimizerState> {
    let path = scratch("optimizer");
    std::fs::write(&path, bytes).unwrap();
    let result = run_loader("load_optimizer", plain_limit(bytes.len()), || load_optimizer(&path));
    std::fs::remove_file(&path).unwrap();
    if safetensors_oracle(bytes).is_none() {
        assert!(result.is_err(), "load_optimizer accepted a file that is not valid safetensors");
    }
    let state = result.ok()?;
    for adam in [false, true] {
        let outcome = catch_quietly(|| {
            let params = params();
            let mut optimizer: Box<dyn Optimizer> = if adam {
                Box::new(Adam::new(params.clone(), Default::default()).unwrap())
            } else {
                Box::new(Sgd::new(params.clone(), 0.1).unwrap())
            };
            if optimizer.load_state_dict(&state).is_ok() {
                params.iter().for_each(|p| p.sum().backward());
                optimizer.step();
            }
        });
        outcome.unwrap_or_else(|m| panic!("an optimizer given a loaded state panicked: {m}"));
    }
    Some(state)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn optimizer_state_corrupted_files_300_cases(adam in any::<bool>(), damage in corruption()) {
        check_optimizer_file(&corrupt(optimizer_file(adam), &damage));
    }

    #[test]
    fn optimizer_state_with_lying_numbers_300_cases(adam in any::<bool>(), index in any::<usize>(), value in lying_number()) {
        check_optimizer_file(&lie_in_header(optimizer_file(adam), index, &value));
    }
}

#[test]
fn optimizer_state_round_trips_and_lying_states_are_rejected_by_load_state_dict() {
    // The unchanged files load and are accepted (the oracle of the other tests is only the
    // safetensors layout; here the optimiser's own checks are exercised on purpose).
    for adam in [false, true] {
        let state = check_optimizer_file(optimizer_file(adam)).expect("the real file loads");
        assert_eq!(state.params, vec![0, 1]);
    }
    let good = check_optimizer_file(optimizer_file(true)).unwrap();
    let mut lies: Vec<(&str, OptimizerState)> = Vec::new();
    let mut s = good.clone();
    s.params = (0..1000).collect();
    lies.push(("a thousand parameters", s));
    let mut s = good.clone();
    let entry = s.state.remove(&1).unwrap();
    s.state.insert(usize::MAX, entry);
    lies.push(("state for parameter usize::MAX", s));
    let mut s = good.clone();
    s.state.get_mut(&0).unwrap().buffers.get_mut("exp_avg").unwrap().shape = vec![1 << 62, 1 << 62];
    lies.push(("a buffer of a huge shape", s));
    let mut s = good.clone();
    s.state.get_mut(&0).unwrap().buffers.get_mut("exp_avg").unwrap().data.pop();
    lies.push(("a buffer with a value missing", s));
    for (what, state) in lies {
        let path = scratch("optimizer_lie");
        let saved = catch_quietly(|| save_optimizer(&state, &path)).unwrap_or_else(|m| panic!("{what}: {m}"));
        let loaded = match saved {
            Ok(()) => run_loader(what, 1 << 22, || load_optimizer(&path)),
            Err(e) => Err(e),
        };
        let _ = std::fs::remove_file(&path);
        if let Ok(loaded) = loaded {
            let mut adam = Adam::new(params(), Default::default()).unwrap();
            let result = catch_quietly(|| adam.load_state_dict(&loaded)).unwrap_or_else(|m| panic!("{what}: {m}"));
            assert!(result.is_err(), "{what}: load_state_dict accepted it");
        }
    }
    // A step count at the top of u64 is accepted (PyTorch keeps any float); stepping past
    // it must not overflow.
    let mut s = good;
    s.state.values_mut().for_each(|p| p.step = Some(u64::MAX));
    let params = params();
    let mut adam = Adam::new(params.clone(), Default::default()).unwrap();
    if adam.load_state_dict(&s).is_ok() {
        params.iter().for_each(|p| p.sum().backward());
        catch_quietly(|| adam.step()).expect("a step after the largest step count must not panic");
    }
}
