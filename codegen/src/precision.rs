//! Arithmetic precision of generated kernels (`docs/ARCHITECTURE.md`, "Precision"): what the
//! buffers hold, what the tensor cores multiply and what each precision's results are checked
//! against.

use serde::{Deserialize, Serialize};

/// Arithmetic precision of a program: its storage, its products and its accumulation.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Precision {
    /// IEEE f32 everywhere (the reference): f32 storage, f32 fused multiply-adds, no tensor
    /// cores (and TF32 off in the libraries, through `NVIDIA_TF32_OVERRIDE=0`).
    #[default]
    F32,
    /// f32 storage; tensor-core stages round their operands to TF32 (10-bit mantissa, round
    /// to nearest) and multiply them with `mma.sync.m16n8k8`, accumulating in f32.
    Tf32,
    /// bf16 storage (inputs, weights, intermediates and the output); products of bf16 operands
    /// (`mma.sync.m16n8k16` on tensor-core stages) accumulated in f32, results rounded to bf16.
    Bf16,
}

impl Precision {
    /// Every precision, the reference first.
    pub const ALL: [Precision; 3] = [Precision::F32, Precision::Tf32, Precision::Bf16];

    /// The label used in fingerprints, results and file names (`f32`, `tf32`, `bf16`).
    pub fn label(&self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Tf32 => "tf32",
            Precision::Bf16 => "bf16",
        }
    }

    /// The C type of a buffer element in the generated CUDA (`float`, or `kas_bf16`: the bits
    /// of a bf16 as an `unsigned short`).
    pub fn storage(&self) -> &'static str {
        match self {
            Precision::F32 | Precision::Tf32 => "float",
            Precision::Bf16 => "kas_bf16",
        }
    }

    /// Bytes of a buffer element.
    pub fn storage_bytes(&self) -> u32 {
        match self {
            Precision::F32 | Precision::Tf32 => 4,
            Precision::Bf16 => 2,
        }
    }

    /// Whether stages may run on tensor cores at this precision (f32 means f32: never).
    pub fn has_tensor_cores(&self) -> bool {
        !matches!(self, Precision::F32)
    }

    /// The reduction depth of one tensor-core instruction (`k` of `m16n8k<k>`; 0 without).
    pub fn mma_k(&self) -> u32 {
        match self {
            Precision::F32 => 0,
            Precision::Tf32 => 8,
            Precision::Bf16 => 16,
        }
    }

    /// `x` as a buffer of this precision stores it: rounded to the nearest bf16 at
    /// [`Precision::Bf16`], unchanged at f32 and TF32 (f32 storage).
    pub fn round(&self, x: f32) -> f32 {
        match self {
            Precision::Bf16 => bf16_value(bf16_bits(x)),
            Precision::F32 | Precision::Tf32 => x,
        }
    }

    /// The largest relative Frobenius error of a result against the f64 reference that
    /// verification accepts at this precision.
    pub fn tolerance(&self) -> f64 {
        match self {
            Precision::F32 => 1e-5,
            Precision::Tf32 => 2e-3,
            Precision::Bf16 => 2e-2,
        }
    }
}

/// `x` rounded to TF32 as `cvt.rna.tf32.f32` rounds it: the nearest value with a 10-bit
/// mantissa, ties away from zero (infinities and NaNs unchanged).
pub fn tf32_value(x: f32) -> f32 {
    let u = x.to_bits();
    if (u & 0x7f80_0000) == 0x7f80_0000 {
        return x;
    }
    f32::from_bits(u.wrapping_add(0x1000) & 0xffff_e000)
}

/// The bits of the bf16 nearest to `x` (ties to even; a NaN stays a NaN).
pub fn bf16_bits(x: f32) -> u16 {
    let u = x.to_bits();
    if (u & 0x7fff_ffff) > 0x7f80_0000 {
        return ((u >> 16) as u16) | 0x0040;
    }
    (u.wrapping_add(0x7fff + ((u >> 16) & 1)) >> 16) as u16
}

/// The value of the bf16 whose bits are `b`.
pub fn bf16_value(b: u16) -> f32 {
    f32::from_bits((b as u32) << 16)
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

impl std::str::FromStr for Precision {
    type Err = String;

    fn from_str(s: &str) -> Result<Precision, String> {
        Precision::ALL
            .into_iter()
            .find(|p| p.label() == s)
            .ok_or_else(|| format!("unknown precision `{s}` (expected f32, tf32 or bf16)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_parse_back_and_serialize_as_labels() {
        for p in Precision::ALL {
            assert_eq!(p.label().parse::<Precision>().unwrap(), p);
            assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{p}\""));
        }
        assert!("fp16".parse::<Precision>().is_err());
        assert_eq!(Precision::default(), Precision::F32);
    }

    #[test]
    fn bf16_rounds_to_nearest_even() {
        assert_eq!(bf16_value(bf16_bits(1.0)), 1.0);
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1).
        assert_eq!(bf16_value(bf16_bits(1.0 + 1.0 / 256.0)), 1.0);
        assert_eq!(bf16_value(bf16_bits(1.0 + 3.0 / 256.0)), 1.0 + 4.0 / 256.0);
        assert_eq!(bf16_value(bf16_bits(-2.5)), -2.5);
        assert!(bf16_value(bf16_bits(f32::NAN)).is_nan());
        assert_eq!(bf16_value(bf16_bits(f32::INFINITY)), f32::INFINITY);
        assert_eq!(Precision::Bf16.round(1.0 + 3.0 / 256.0), 1.0 + 4.0 / 256.0);
        assert_eq!(Precision::Tf32.round(1.0 + 3.0 / 256.0), 1.0 + 3.0 / 256.0);
    }
}
