//! The roofline: the least time an operator can take on a device, from its FLOPs and the
//! bytes it must move at least once, against the device's peak arithmetic rate and memory
//! bandwidth.

use crate::error::Result;
use crate::fingerprint::GpuInfo;
use kas_codegen::Precision;
use kas_primitives::plan::Plan;
use kas_primitives::{Binding, Operator};
use serde::{Deserialize, Serialize};

/// Peak f32 rate and memory bandwidth of a device, with where the figures come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Peak {
    /// Peak f32 FLOP/s (a fused multiply-add counts 2).
    pub flops_per_s: f64,
    /// Peak DRAM bandwidth in bytes/s.
    pub bytes_per_s: f64,
    /// How the figures were obtained, for the output.
    pub source: String,
}

/// FP32 lanes (CUDA cores) per SM of a compute capability, when known.
pub fn fp32_lanes_per_sm(sm: (i32, i32)) -> Option<u32> {
    match sm {
        (7, 0) | (7, 5) | (8, 0) => Some(64),
        (8, 6) | (8, 7) | (8, 9) | (9, 0) | (10, _) | (12, _) => Some(128),
        _ => None,
    }
}

/// Datasheet figures (dense f32 without tensor cores, HBM bandwidth) for GPUs kas is run on,
/// matched by name when the driver does not report clocks.
const KNOWN: &[(&str, &str, f64, f64)] = &[
    // (name contains, label, TFLOP/s f32, TB/s)
    ("H200", "H200 (SXM datasheet)", 67.0, 4.8),
    ("H100 NVL", "H100 NVL (datasheet)", 60.0, 3.9),
    ("H100 PCIe", "H100 PCIe (datasheet)", 51.2, 2.0),
    ("H100", "H100 SXM (datasheet)", 67.0, 3.35),
];

impl Peak {
    /// Peak figures of a GPU: from its attributes (SMs × FP32 lanes/SM × 2 × clock; bus
    /// width × memory clock × 2 for DDR) when the driver reports them and the architecture's
    /// lanes per SM are known, else from the datasheet table by name; `None` if neither.
    pub fn of_gpu(g: &GpuInfo) -> Option<Peak> {
        if let Some(lanes) = fp32_lanes_per_sm(g.sm)
            && g.clock_khz > 0
            && g.memory_clock_khz > 0
            && g.bus_width_bits > 0
        {
            let flops = g.sm_count as f64 * lanes as f64 * 2.0 * g.clock_khz as f64 * 1e3;
            let bytes = g.bus_width_bits as f64 / 8.0 * g.memory_clock_khz as f64 * 1e3 * 2.0;
            return Some(Peak {
                flops_per_s: flops,
                bytes_per_s: bytes,
                source: format!(
                    "device attributes: {} SMs × {lanes} FP32 lanes × 2 × {} MHz = {:.1} TFLOP/s; {}-bit bus × {} MHz × 2 = {:.2} TB/s",
                    g.sm_count,
                    g.clock_khz / 1000,
                    flops / 1e12,
                    g.bus_width_bits,
                    g.memory_clock_khz / 1000,
                    bytes / 1e12
                ),
            });
        }
        Peak::of_name(&g.name)
    }

    /// The peak at precision `p`: the f32 SIMT rate at f32; the dense tensor-core rate at TF32
    /// (8×) and bf16 (16×), the ratios of sm_80 and sm_90 (H100/H200: 66.9 → 494.7 / 989.4
    /// TFLOP/s). Bandwidth is unchanged.
    pub fn at(&self, p: Precision) -> Peak {
        let (factor, what) = match p {
            Precision::F32 => return self.clone(),
            Precision::Tf32 => (8.0, "TF32 tensor cores = 8 × f32"),
            Precision::Bf16 => (16.0, "bf16 tensor cores = 16 × f32"),
        };
        Peak {
            flops_per_s: self.flops_per_s * factor,
            bytes_per_s: self.bytes_per_s,
            source: format!(
                "{}; {what} = {:.1} TFLOP/s dense",
                self.source,
                self.flops_per_s * factor / 1e12
            ),
        }
    }

    /// Datasheet figures by device name.
    pub fn of_name(name: &str) -> Option<Peak> {
        let (_, label, tf, tb) = KNOWN.iter().find(|(k, ..)| name.contains(k))?;
        Some(Peak {
            flops_per_s: tf * 1e12,
            bytes_per_s: tb * 1e12,
            source: format!("table: {label}: {tf} TFLOP/s f32, {tb} TB/s"),
        })
    }
}

/// The work of one operator under one binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Work {
    /// Floating-point operations (2 per multiply-add).
    pub flops: u64,
    /// Bytes that must move at least once: input, weights and output, each once (f32).
    pub min_bytes: u64,
}

impl Work {
    /// The work of `op` under `b` along its cheapest staged evaluation (the planner's
    /// multiply-adds × 2), with 4-byte elements.
    pub fn of(op: &Operator, b: &Binding) -> Result<Work> {
        let plan = Plan::with_bindings(op, std::slice::from_ref(b))?;
        let macs = plan.flops.first().copied().unwrap_or(0);
        let mut elems: u64 = 0;
        for t in 0..op.tensor_count() {
            elems += volume(&op.concrete(op.tensor_axes(t), b)?);
        }
        elems += volume(&op.concrete(&op.outputs, b)?);
        Ok(Work {
            flops: u64::try_from(macs.saturating_mul(2)).unwrap_or(u64::MAX),
            min_bytes: elems.saturating_mul(4),
        })
    }

    /// The same work with elements of precision `p` (2 bytes at bf16).
    pub fn at(self, p: Precision) -> Work {
        Work {
            flops: self.flops,
            min_bytes: self.min_bytes / 4 * p.storage_bytes() as u64,
        }
    }

    /// The least time on a device with `peak`: `max(flops / peak rate, bytes / bandwidth)`.
    pub fn roofline_s(&self, peak: &Peak) -> f64 {
        (self.flops as f64 / peak.flops_per_s).max(self.min_bytes as f64 / peak.bytes_per_s)
    }

    /// Whether the roofline is set by bandwidth rather than arithmetic.
    pub fn memory_bound(&self, peak: &Peak) -> bool {
        self.min_bytes as f64 / peak.bytes_per_s > self.flops as f64 / peak.flops_per_s
    }
}

fn volume(shape: &[usize]) -> u64 {
    shape.iter().map(|&x| x as u64).product()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kas_primitives::library;

    fn h100() -> GpuInfo {
        GpuInfo {
            name: "NVIDIA H100 80GB HBM3".into(),
            sm: (9, 0),
            sm_count: 132,
            memory_bytes: 85_000_000_000,
            l2_bytes: 50 << 20,
            clock_khz: 1_980_000,
            memory_clock_khz: 2_619_000,
            bus_width_bits: 5120,
            driver: "580.65.06".into(),
            cuda_driver_api: "13.0".into(),
        }
    }

    #[test]
    fn peaks_from_attributes_and_table() {
        let p = Peak::of_gpu(&h100()).unwrap();
        // 132 × 128 × 2 × 1.98 GHz and 640 B × 2.619 GHz × 2.
        assert!((p.flops_per_s - 66.908_16e12).abs() < 1e6);
        assert!((p.bytes_per_s - 3.352_32e12).abs() < 1e6);
        assert!(p.source.starts_with("device attributes"), "{}", p.source);
        let mut g = h100();
        g.clock_khz = 0;
        let t = Peak::of_gpu(&g).unwrap();
        assert_eq!(t.flops_per_s, 67e12);
        assert!(t.source.contains("H100 SXM"));
        assert_eq!(
            Peak::of_name("NVIDIA H100 PCIe").unwrap().bytes_per_s,
            2.0e12
        );
        assert_eq!(Peak::of_name("NVIDIA H200").unwrap().bytes_per_s, 4.8e12);
        g.name = "Some GPU".into();
        assert!(Peak::of_gpu(&g).is_none());
        g.clock_khz = 1_000_000;
        g.sm = (6, 1);
        assert!(Peak::of_gpu(&g).is_none(), "unknown lanes per SM");
    }

    #[test]
    fn conv_work_and_roofline() {
        let op = (library::get("conv2d").unwrap().build)().unwrap();
        let b = op
            .vars
            .bind(
                "r",
                [("N", 2), ("C_in", 64), ("C_out", 128), ("H", 28), ("W", 28)],
            )
            .unwrap();
        let w = Work::of(&op, &b).unwrap();
        assert_eq!(w.flops, 2 * 2 * 128 * 28 * 28 * 64 * 9);
        assert_eq!(
            w.min_bytes,
            4 * (2 * 64 * 28 * 28 + 128 * 64 * 9 + 2 * 128 * 28 * 28)
        );
        let peak = Peak {
            flops_per_s: 1e12,
            bytes_per_s: 1e11,
            source: "test".into(),
        };
        let t = w.roofline_s(&peak);
        assert!((t - w.flops as f64 / 1e12).abs() < 1e-15);
        assert!(!w.memory_bound(&peak));
        let slow_memory = Peak {
            bytes_per_s: 1e6,
            ..peak
        };
        assert!(w.memory_bound(&slow_memory));
        assert!((w.roofline_s(&slow_memory) - w.min_bytes as f64 / 1e6).abs() < 1e-9);
    }
}
