// kas: generated CUDA kernels, binding `golden`; bf16 in and out (kas_bf16), bf16 products accumulated in f32; schedule tc32x16x32/w1x1/p2/s2.
#ifndef KAS_BF16
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
#ifndef KAS_TENSOR_CORE
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
// Floor division and Euclidean remainder (exact for negative a).
#ifndef KAS_DIV
#define KAS_DIV(a, b) ((a) >= 0 ? (a) / (b) : -((-(a) + (b) - 1) / (b)))
#define KAS_MOD(a, b) ((((a) % (b)) + (b)) % (b))
#endif

// stage 0: result [2, 8, 8, 8], summing [4, 3, 3], tc32x16x32/w1x1/p2/s2
__device__ const int kas_s0_at[108] = {0,0,0,1,0,1,2,0,2,8,1,0,9,1,1,10,1,2,16,2,0,17,2,1,18,2,2,64,0,0,65,0,1,66,0,2,72,1,0,73,1,1,74,1,2,80,2,0,81,2,1,82,2,2,128,0,0,129,0,1,130,0,2,136,1,0,137,1,1,138,1,2,144,2,0,145,2,1,146,2,2,192,0,0,193,0,1,194,0,2,200,1,0,201,1,1,202,1,2,208,2,0,209,2,1,210,2,2};
// tensor cores (mma.sync m16n8k16 bf16): M = 128 (dims [0, 2, 3]), N = 8 (dims [1]), Z = 1 (dims []), K = 36; tile tc32x16x32/w1x1/p2/s2
extern "C" __global__ void __launch_bounds__(32, 1) kas_s0(const kas_bf16 *__restrict__ in, const kas_bf16 *__restrict__ w1, float *__restrict__ out)
{
    KAS_DYNAMIC_SHARED(kas_smem);
    kas_bf16 *const As = reinterpret_cast<kas_bf16 *>(kas_smem);
    kas_bf16 *const Bs = As + 2560;
    const unsigned tid = threadIdx.x;
    int bid = blockIdx.x;
    const int m0 = (bid % 4) * 32; bid /= 4;
    const int n0 = (bid % 1) * 16; bid /= 1;
    const int split = bid % 2; bid /= 2;
    (void)bid;
    const int kbeg = split * 32;
    const int kend = kbeg + 32 < 36 ? kbeg + 32 : 36;
    unsigned arow[32], akl[32];
    bool aok[32];
    int ab[32];
    int ag0[32];
    int ag1[32];
    #pragma unroll
    for (int j = 0; j < 32; ++j) {
        const unsigned e = tid + 32u * j;
        arow[j] = ((tid % 32u) + 32u * (j % 1u)) * 1u; akl[j] = tid / 32u + 1u * (j / 1u);
        int row = m0 + arow[j];
        bool ok = e < 1024u && row < 128;
        if (!ok) row = 0;
        const int o3 = row % 8; row /= 8;
        const int o2 = row % 8; row /= 8;
        const int o0 = row;
        (void)row;
        ab[j] = (-9 + 256 * o0 + 8 * o2 + 1 * o3);
        ag0[j] = (-1 + 1 * o2);
        ag1[j] = (-1 + 1 * o3);
        aok[j] = ok;
    }
    unsigned brow[4], bkl[4];
    bool bok[4];
    int bb[4];
    #pragma unroll
    for (int j = 0; j < 4; ++j) {
        const unsigned e = tid + 32u * j;
        brow[j] = e / 8u; bkl[j] = (e % 8u) * 4u;
        int row = n0 + brow[j];
        bool ok = e < 128u && row < 8;
        if (!ok) row = 0;
        const int o1 = row;
        (void)row;
        bb[j] = (0 + 36 * o1);
        bok[j] = ok;
    }
    float acc[2][2][4];
    #pragma unroll
    for (int i = 0; i < 2; ++i)
        #pragma unroll
        for (int j = 0; j < 2; ++j)
            #pragma unroll
            for (int q = 0; q < 4; ++q) acc[i][j][q] = 0.0f;
    const unsigned lane = tid % 32u, g = lane / 4u, tg = lane % 4u;
    const unsigned wr = ((tid / 32u) % 1u) * 32u, wc = ((tid / 32u) / 1u) * 16u;
    // Prologue: slices 0 .. 0 in flight.
    #pragma unroll
    for (int st = 0; st < 1; ++st) {
    const int kb = kbeg + st * 32;
    #pragma unroll
    for (int j = 0; j < 32; ++j) {
        kas_bf16 v = 0;
        const int kk = kb + akl[j];
        if (aok[j] && kk < kend) {
            const int *tk = kas_s0_at + kk * 3;
            const int g0 = ag0[j] + __ldg(tk + 1);
            const int g1 = ag1[j] + __ldg(tk + 2);
            if (g0 >= 0 && g0 < 8 && g1 >= 0 && g1 < 8) v = in[ab[j] + __ldg(tk)];
        }
        *(As + st * 1280 + (akl[j]) * 40 + (arow[j])) = v;
    }
    #pragma unroll
    for (int j = 0; j < 4; ++j) {
        const auto *sp = w1; unsigned sn = 0u;
        const int kk = kb + bkl[j];
        if (bok[j] && kk < kend) {
            { sp = w1 + (bb[j] + kk); sn = 8u; }
        }
        kas_cp_async8(Bs + st * 640 + (brow[j]) * 40 + (bkl[j]), sp, sn);
    }
    kas_cp_commit();
    }
    kas_bf16 ah[32];
    int rs = 0;
    for (int kt = kbeg; kt < kend; kt += 32) {
    kas_cp_wait<0>();
    __syncthreads();
    {
    const int st = rs == 0 ? 1 : rs - 1;
    const int kb = kt + 32;
    #pragma unroll
    for (int j = 0; j < 32; ++j) {
        kas_bf16 v = 0;
        const int kk = kb + akl[j];
        if (aok[j] && kk < kend) {
            const int *tk = kas_s0_at + kk * 3;
            const int g0 = ag0[j] + __ldg(tk + 1);
            const int g1 = ag1[j] + __ldg(tk + 2);
            if (g0 >= 0 && g0 < 8 && g1 >= 0 && g1 < 8) v = in[ab[j] + __ldg(tk)];
        }
        ah[j] = v;
    }
    #pragma unroll
    for (int j = 0; j < 4; ++j) {
        const auto *sp = w1; unsigned sn = 0u;
        const int kk = kb + bkl[j];
        if (bok[j] && kk < kend) {
            { sp = w1 + (bb[j] + kk); sn = 8u; }
        }
        kas_cp_async8(Bs + st * 640 + (brow[j]) * 40 + (bkl[j]), sp, sn);
    }
    kas_cp_commit();
    }
    #pragma unroll
    for (int ks = 0; ks < 32; ks += 16) {
        unsigned a[2][4], b[2][2];
        #pragma unroll
        for (int i = 0; i < 2; ++i) {
            const unsigned r0 = wr + i * 16u;
            kas_ldsm_x4_trans(a[i], As + rs * 1280 + (ks + lane % 8u + (lane / 16u) * 8u) * 40 + (r0 + ((lane / 8u) % 2u) * 8u));
        }
        #pragma unroll
        for (int j = 0; j < 2; ++j) {
            const unsigned c0 = wc + j * 8u;
            kas_ldsm_x2(b[j], Bs + rs * 640 + (c0 + lane % 8u) * 40 + (ks + ((lane / 8u) % 2u) * 8u));
        }
        #pragma unroll
        for (int i = 0; i < 2; ++i)
            #pragma unroll
            for (int j = 0; j < 2; ++j) kas_mma_bf16(acc[i][j], a[i], b[j]);
    }
    {
    const int st = rs == 0 ? 1 : rs - 1;
    #pragma unroll
    for (int j = 0; j < 32; ++j) {
        *(As + st * 1280 + (akl[j]) * 40 + (arow[j])) = ah[j];
    }
    }
    rs = rs == 1 ? 0 : rs + 1;
    }
    kas_cp_wait<0>();
    const int zo = split * 1024 + 0;
    #pragma unroll
    for (int i = 0; i < 2; ++i)
    #pragma unroll
    for (int h = 0; h < 2; ++h) {
        int m = m0 + wr + i * 16 + h * 8 + g;
        const bool mok = m < 128;
        if (!mok) m = 0;
        const int o3 = m % 8; m /= 8;
        const int o2 = m % 8; m /= 8;
        const int o0 = m;
        (void)m;
        const int mo = zo + 512 * o0 + 8 * o2 + 1 * o3;
        #pragma unroll
        for (int j = 0; j < 2; ++j) {
            #pragma unroll
            for (int e = 0; e < 2; ++e) {
                int n = n0 + wc + j * 8 + tg * 2 + e;
                const bool nok = n < 8;
                if (!nok) n = 0;
                const int o1 = n;
                (void)n;
                if (mok && nok) out[mo + 64 * o1] = acc[i][j][2 * h + e];
            }
        }
    }
}
extern "C" __global__ void kas_s0_sum(const float *__restrict__ part, kas_bf16 *__restrict__ out)
{
    for (int t = (int)blockIdx.x * blockDim.x + threadIdx.x; t < (int)1024; t += (int)gridDim.x * blockDim.x) {
        float s = 0.0f;
        #pragma unroll
        for (int q = 0; q < 2; ++q) s += part[(int)q * 1024 + t];
        out[t] = kas_f32_to_bf16(s);
    }
}
