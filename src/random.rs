//! The global random generator: `tapegrad::manual_seed` and the draws built on it.
//!
//! PyTorch name: `torch.manual_seed`. The algorithm is fixed and documented so that a seed
//! gives the same numbers on every platform and every version of this crate:
//!
//! * the state is xoshiro256++ (Blackman & Vigna), its four words filled from the seed by
//!   SplitMix64;
//! * a uniform `f32` in `[0, 1)` is `(next_u64 >> 40) · 2⁻²⁴` (24 random bits, exact in f32);
//! * a standard normal is the Box–Muller transform of two uniforms computed in `f64`,
//!   `sqrt(-2 ln(1 − u₁)) · cos(2π u₂)`, one value per pair (no cached second value, so
//!   the stream never depends on how many normals were drawn before).
//!
//! The numbers differ from PyTorch's (its Mersenne Twister and its own transforms cannot be
//! matched bit for bit); only their distributions are the same.

use std::convert::Infallible;
use std::sync::Mutex;

use rand::TryRng;

/// A xoshiro256++ generator: small, fast, and the same on every platform. PyTorch:
/// `torch.Generator` (a different algorithm, so different numbers; same distributions).
///
/// It implements [`rand::TryRng`] (and so [`rand::Rng`]), so it works with `rand`'s API.
///
/// ```
/// use tapegrad::random::Generator;
/// let (mut a, mut b) = (Generator::from_seed(1), Generator::from_seed(1));
/// assert_eq!(a.next_u64(), b.next_u64()); // same seed, same stream
/// let u = a.uniform();
/// assert!((0.0..1.0).contains(&u));
/// assert!(a.below(6) < 6); // a die roll, 0..6
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generator {
    state: [u64; 4],
}

/// The seed used before any call to [`manual_seed`]. tapegrad-only, no PyTorch counterpart
/// (PyTorch's default seed is `67280421310721`, for a different generator).
///
/// ```
/// use tapegrad::random::{DEFAULT_SEED, Generator, with_generator};
/// // The global generator starts as Generator::from_seed(DEFAULT_SEED); reading it:
/// let u = with_generator(|g: &mut Generator| g.uniform());
/// assert!((0.0..1.0).contains(&u));
/// assert_eq!(Generator::from_seed(DEFAULT_SEED), Generator::from_seed(DEFAULT_SEED));
/// ```
pub const DEFAULT_SEED: u64 = 0x5EED;

impl Generator {
    /// A generator whose state is filled from `seed` by SplitMix64. PyTorch:
    /// `torch.Generator().manual_seed(seed)`. Example on [`Generator`].
    pub fn from_seed(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            // SplitMix64, as in Vigna's reference code.
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Generator { state: [next(), next(), next(), next()] }
    }

    /// The next 64 random bits (xoshiro256++):
    /// `rotl(s₀ + s₃, 23) + s₀`, then the state update. tapegrad-only, no PyTorch
    /// counterpart. Example on [`Generator`].
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.state;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// A uniform `f32` in `[0, 1)`: the top 24 bits of [`Generator::next_u64`] times 2⁻²⁴.
    /// PyTorch: `torch.rand((), generator=g)`. Example on [`Generator`].
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u32 << 24) as f32)
    }

    /// A uniform `f64` in `[0, 1)` with 53 random bits: `(next_u64 >> 11)·2⁻⁵³`. PyTorch:
    /// `torch.rand((), dtype=torch.float64, generator=g)`.
    ///
    /// ```
    /// let mut g = tapegrad::random::Generator::from_seed(3);
    /// let mean = (0..10_000).map(|_| g.uniform_f64()).sum::<f64>() / 10_000.0;
    /// assert!((mean - 0.5).abs() < 0.02); // E[u] = ½, standard error ≈ 0.003
    /// ```
    pub fn uniform_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A standard normal `N(0, 1)` by Box–Muller (see the module docs):
    /// `√(−2 ln(1 − u₁))·cos(2π u₂)`. PyTorch: `torch.randn((), generator=g)`.
    ///
    /// ```
    /// let mut g = tapegrad::random::Generator::from_seed(3);
    /// let draws: Vec<f32> = (0..10_000).map(|_| g.normal()).collect();
    /// let var = draws.iter().map(|z| z * z).sum::<f32>() / 10_000.0;
    /// assert!((var - 1.0).abs() < 0.1); // E[z²] = 1
    /// ```
    pub fn normal(&mut self) -> f32 {
        let u1 = self.uniform_f64();
        let u2 = self.uniform_f64();
        ((-2.0 * (1.0 - u1).ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
    }

    /// A uniform integer in `0..n` (Lemire's multiply-shift with rejection; `n > 0`): the
    /// high 64 bits of `next_u64 · n`. PyTorch: `torch.randint(n, (), generator=g)`. Example
    /// on [`Generator`].
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "Generator::below: n must be positive");
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = (self.next_u64() as u128) * (n as u128);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }
}

impl TryRng for Generator {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok((self.next_u64() >> 32) as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.next_u64())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

static GLOBAL: Mutex<Option<Generator>> = Mutex::new(None);

/// Seeds the global generator that `rand`, `randn`, initialisation, dropout and shuffling
/// draw from. PyTorch: `torch.manual_seed(seed)`.
///
/// ```
/// tapegrad::manual_seed(7);
/// let a = tapegrad::Tensor::randn(&[3]);
/// tapegrad::manual_seed(7);
/// let b = tapegrad::Tensor::randn(&[3]);
/// assert_eq!(a.to_vec(), b.to_vec());
/// ```
pub fn manual_seed(seed: u64) {
    *GLOBAL.lock().unwrap_or_else(|e| e.into_inner()) = Some(Generator::from_seed(seed));
}

/// Runs `f` with exclusive access to the global generator. tapegrad-only, no PyTorch
/// counterpart (the closest is `torch.default_generator`). Example on [`DEFAULT_SEED`].
///
/// Draw everything a call needs inside one `with_generator`, so that concurrent threads
/// cannot interleave inside one tensor's values.
pub fn with_generator<R>(f: impl FnOnce(&mut Generator) -> R) -> R {
    let mut guard = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    f(guard.get_or_insert_with(|| Generator::from_seed(DEFAULT_SEED)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xoshiro_matches_the_reference_sequence() {
        // Reference: xoshiro256plusplus.c with state {1, 2, 3, 4}; first outputs computed by
        // hand from the algorithm: s0 + s3 = 5, rotl(5, 23) = 41943040, + s0 = 41943041.
        let mut g = Generator { state: [1, 2, 3, 4] };
        assert_eq!(g.next_u64(), 41_943_041);
        // Second output, following the state update of the reference code.
        assert_eq!(g.next_u64(), 58_720_359);
    }

    #[test]
    fn splitmix_seeding_matches_reference() {
        // SplitMix64 from seed 0 starts 0xE220A8397B1DCDAF (Vigna's splitmix64.c).
        let g = Generator::from_seed(0);
        assert_eq!(g.state[0], 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn uniform_in_range_and_normal_moments() {
        let mut g = Generator::from_seed(42);
        let n = 200_000;
        let mut sum = 0.0f64;
        let mut sum_sq = 0.0f64;
        for _ in 0..n {
            let u = g.uniform();
            assert!((0.0..1.0).contains(&u));
            let z = g.normal() as f64;
            sum += z;
            sum_sq += z * z;
        }
        let mean = sum / n as f64;
        let var = sum_sq / n as f64 - mean * mean;
        // Standard error of the mean is 1/sqrt(n) ≈ 0.0022; allow 5 of them.
        assert!(mean.abs() < 0.012, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "var {var}");
    }

    #[test]
    fn below_is_uniform_enough_and_in_range() {
        let mut g = Generator::from_seed(1);
        let mut counts = [0u32; 7];
        for _ in 0..70_000 {
            counts[g.below(7) as usize] += 1;
        }
        for c in counts {
            assert!((9_300..10_700).contains(&c), "{counts:?}");
        }
    }
}
