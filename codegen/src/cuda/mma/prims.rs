//! The device functions the tensor-core kernels and the bf16 kernels call, written once at
//! the top of a program's source, each block behind its own guard (`KAS_BF16`,
//! `KAS_TENSOR_CORE`) so that several programs can share a translation unit and a host
//! emulation can stand in for them.
//!
//! The instructions and their operand layouts are those of the PTX ISA: `cp.async` (4, 8 or
//! 16 bytes, zero-filled beyond its source size; `commit_group`, `wait_group`),
//! `ldmatrix.sync.aligned.m8n8.{x2,x4}[.trans].shared.b16`, `cvt.rna.tf32.f32`, and
//! `mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32` /
//! `mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32` accumulating in place.

/// bf16 storage: the element type and its conversions (round to nearest even; NaN stays NaN).
pub(in crate::cuda) const BF16: &str = r#"#ifndef KAS_BF16
#define KAS_BF16
typedef unsigned short kas_bf16;
__device__ __forceinline__ float kas_bf16_to_f32(kas_bf16 x) { return __uint_as_float((unsigned)x << 16); }
__device__ __forceinline__ kas_bf16 kas_f32_to_bf16(float f)
{
    const unsigned u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (kas_bf16)((u >> 16) | 0x40u);
    return (kas_bf16)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
__device__ __forceinline__ unsigned kas_pack_bf16x2(float lo, float hi)
{
    return (unsigned)kas_f32_to_bf16(lo) | ((unsigned)kas_f32_to_bf16(hi) << 16);
}
#endif
"#;

/// The tensor-core kernels' instructions.
pub(in crate::cuda) const TENSOR_CORE: &str = r#"#ifndef KAS_TENSOR_CORE
#define KAS_TENSOR_CORE
#define KAS_DYNAMIC_SHARED(name) extern __shared__ __align__(16) unsigned char name[]
__device__ __forceinline__ unsigned kas_smem_u32(const void *p) { return (unsigned)__cvta_generic_to_shared(p); }
__device__ __forceinline__ void kas_cp_async4(void *d, const void *s, unsigned n)
{
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" :: "r"(kas_smem_u32(d)), "l"(s), "r"(n) : "memory");
}
__device__ __forceinline__ void kas_cp_async8(void *d, const void *s, unsigned n)
{
    asm volatile("cp.async.ca.shared.global [%0], [%1], 8, %2;\n" :: "r"(kas_smem_u32(d)), "l"(s), "r"(n) : "memory");
}
__device__ __forceinline__ void kas_cp_async16(void *d, const void *s, unsigned n)
{
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" :: "r"(kas_smem_u32(d)), "l"(s), "r"(n) : "memory");
}
__device__ __forceinline__ void kas_cp_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int N> __device__ __forceinline__ void kas_cp_wait() { asm volatile("cp.async.wait_group %0;\n" :: "n"(N) : "memory"); }
__device__ __forceinline__ void kas_ldsm_x4(unsigned *r, const void *p)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(kas_smem_u32(p)) : "memory");
}
__device__ __forceinline__ void kas_ldsm_x4_trans(unsigned *r, const void *p)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(kas_smem_u32(p)) : "memory");
}
__device__ __forceinline__ void kas_ldsm_x2(unsigned *r, const void *p)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0, %1}, [%2];\n"
                 : "=r"(r[0]), "=r"(r[1]) : "r"(kas_smem_u32(p)) : "memory");
}
__device__ __forceinline__ void kas_ldsm_x2_trans(unsigned *r, const void *p)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0, %1}, [%2];\n"
                 : "=r"(r[0]), "=r"(r[1]) : "r"(kas_smem_u32(p)) : "memory");
}
__device__ __forceinline__ unsigned kas_tf32(float f)
{
    unsigned r;
    asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(f));
    return r;
}
__device__ __forceinline__ unsigned kas_tf32_bits(unsigned u) { return kas_tf32(__uint_as_float(u)); }
__device__ __forceinline__ void kas_mma_tf32(float *d, const unsigned *a, const unsigned *b)
{
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
__device__ __forceinline__ void kas_mma_bf16(float *d, const unsigned *a, const unsigned *b)
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
#endif
"#;
