// kas: generated CUDA kernels, binding `golden`; f32 in and out, TF32 tensor-core products accumulated in f32; schedule tc16x8x16/w1x1/p3 | tc16x8x16/w1x1/p3.
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

// stage 0: result [2, 8, 8, 2, 2], summing [3, 4], tc16x8x16/w1x1/p3
__device__ const int kas_s0_at[24] = {0,0,64,0,128,0,192,0,1,1,65,1,129,1,193,1,2,2,66,2,130,2,194,2};
__device__ const int kas_s0_bt[12] = {0,6,12,18,2,8,14,20,4,10,16,22};
// tensor cores (mma.sync m16n8k8 tf32): M = 128 (dims [0, 1, 2]), N = 2 (dims [3]), Z = 2 (dims [4]), K = 12; tile tc16x8x16/w1x1/p3
extern "C" __global__ void __launch_bounds__(32, 1) kas_s0(const float *__restrict__ in, const float *__restrict__ w1, float *__restrict__ out)
{
    KAS_DYNAMIC_SHARED(kas_smem);
    float *const As = reinterpret_cast<float *>(kas_smem);
    float *const Bs = As + 960;
    const unsigned tid = threadIdx.x;
    int bid = blockIdx.x;
    const int m0 = (bid % 8) * 16; bid /= 8;
    const int n0 = (bid % 1) * 8; bid /= 1;
    const int split = 0;
    const int o4 = bid;
    const int kbeg = split * 16;
    const int kend = kbeg + 16 < 12 ? kbeg + 16 : 12;
    unsigned arow[8], akl[8];
    bool aok[8];
    int ab[8];
    int ag0[8];
    #pragma unroll
    for (int j = 0; j < 8; ++j) {
        const unsigned e = tid + 32u * j;
        arow[j] = (e % 16u) * 1u; akl[j] = e / 16u;
        int row = m0 + arow[j];
        bool ok = e < 256u && row < 128;
        if (!ok) row = 0;
        const int o2 = row % 8; row /= 8;
        const int o1 = row % 8; row /= 8;
        const int o0 = row;
        (void)row;
        ab[j] = (-1 + 512 * o0 + 8 * o1 + 1 * o2 + 256 * o4);
        ag0[j] = (-1 + 1 * o2);
        aok[j] = ok;
    }
    unsigned brow[2], bkl[2];
    bool bok[2];
    int bb[2];
    #pragma unroll
    for (int j = 0; j < 2; ++j) {
        const unsigned e = tid + 32u * j;
        brow[j] = (e % 4u) * 2u; bkl[j] = e / 4u;
        int row = n0 + brow[j];
        bool ok = e < 64u && row < 2;
        if (!ok) row = 0;
        const int o3 = row;
        (void)row;
        bb[j] = (0 + 1 * o3 + 24 * o4);
        bok[j] = ok;
    }
    float acc[1][1][4];
    #pragma unroll
    for (int i = 0; i < 1; ++i)
        #pragma unroll
        for (int j = 0; j < 1; ++j)
            #pragma unroll
            for (int q = 0; q < 4; ++q) acc[i][j][q] = 0.0f;
    const unsigned lane = tid % 32u, g = lane / 4u, tg = lane % 4u;
    const unsigned wr = ((tid / 32u) % 1u) * 16u, wc = ((tid / 32u) / 1u) * 8u;
    // Prologue: slices 0 .. 1 in flight.
    #pragma unroll
    for (int st = 0; st < 2; ++st) {
    const int kb = kbeg + st * 16;
    #pragma unroll
    for (int j = 0; j < 8; ++j) {
        const auto *sp = in; unsigned sn = 0u;
        const int kk = kb + akl[j];
        if (aok[j] && kk < kend) {
            const int *tk = kas_s0_at + kk * 2;
            const int g0 = ag0[j] + __ldg(tk + 1);
            if (g0 >= 0 && g0 < 8) { sp = in + (ab[j] + __ldg(tk)); sn = 4u; }
        }
        kas_cp_async4(As + st * 320 + (arow[j]) * 20 + (akl[j]), sp, sn);
    }
    #pragma unroll
    for (int j = 0; j < 2; ++j) {
        const auto *sp = w1; unsigned sn = 0u;
        const int kk = kb + bkl[j];
        if (bok[j] && kk < kend) {
            const int *tk = kas_s0_bt + kk * 1;
            { sp = w1 + (bb[j] + __ldg(tk)); sn = 8u; }
        }
        kas_cp_async8(Bs + st * 128 + (bkl[j]) * 8 + (brow[j]), sp, sn);
    }
    kas_cp_commit();
    }
    int rs = 0;
    for (int kt = kbeg; kt < kend; kt += 16) {
    kas_cp_wait<1>();
    __syncthreads();
    {
    const int st = rs == 0 ? 2 : rs - 1;
    const int kb = kt + 32;
    #pragma unroll
    for (int j = 0; j < 8; ++j) {
        const auto *sp = in; unsigned sn = 0u;
        const int kk = kb + akl[j];
        if (aok[j] && kk < kend) {
            const int *tk = kas_s0_at + kk * 2;
            const int g0 = ag0[j] + __ldg(tk + 1);
            if (g0 >= 0 && g0 < 8) { sp = in + (ab[j] + __ldg(tk)); sn = 4u; }
        }
        kas_cp_async4(As + st * 320 + (arow[j]) * 20 + (akl[j]), sp, sn);
    }
    #pragma unroll
    for (int j = 0; j < 2; ++j) {
        const auto *sp = w1; unsigned sn = 0u;
        const int kk = kb + bkl[j];
        if (bok[j] && kk < kend) {
            const int *tk = kas_s0_bt + kk * 1;
            { sp = w1 + (bb[j] + __ldg(tk)); sn = 8u; }
        }
        kas_cp_async8(Bs + st * 128 + (bkl[j]) * 8 + (brow[j]), sp, sn);
    }
    kas_cp_commit();
    }
    #pragma unroll
    for (int ks = 0; ks < 16; ks += 8) {
        unsigned a[1][4], b[1][2];
        #pragma unroll
        for (int i = 0; i < 1; ++i) {
            const unsigned r0 = wr + i * 16u;
            kas_ldsm_x4(a[i], As + rs * 320 + (r0 + lane % 16u) * 20 + (ks + (lane / 16u) * 4u));
            #pragma unroll
            for (int q = 0; q < 4; ++q) a[i][q] = kas_tf32_bits(a[i][q]);
        }
        #pragma unroll
        for (int j = 0; j < 1; ++j) {
            const unsigned c0 = wc + j * 8u;
            b[j][0] = kas_tf32(*(Bs + rs * 128 + (ks + tg + 0u) * 8 + (c0 + g)));
            b[j][1] = kas_tf32(*(Bs + rs * 128 + (ks + tg + 4u) * 8 + (c0 + g)));
        }
        #pragma unroll
        for (int i = 0; i < 1; ++i)
            #pragma unroll
            for (int j = 0; j < 1; ++j) kas_mma_tf32(acc[i][j], a[i], b[j]);
    }
    rs = rs == 2 ? 0 : rs + 1;
    }
    kas_cp_wait<0>();
    const int zo = split * 512 + 256 * o4;
    #pragma unroll
    for (int i = 0; i < 1; ++i)
    #pragma unroll
    for (int h = 0; h < 2; ++h) {
        int m = m0 + wr + i * 16 + h * 8 + g;
        const bool mok = m < 128;
        if (!mok) m = 0;
        const int o2 = m % 8; m /= 8;
        const int o1 = m % 8; m /= 8;
        const int o0 = m;
        (void)m;
        const int mo = zo + 128 * o0 + 16 * o1 + 2 * o2;
        #pragma unroll
        for (int j = 0; j < 1; ++j) {
            int n = n0 + wc + j * 8 + tg * 2;
            const bool nok = n < 2;
            if (!nok) n = 0;
            const int o3 = n;
            (void)n;
            if (mok && nok) *reinterpret_cast<float2 *>(out + mo + 1 * o3) = make_float2(acc[i][j][2 * h], acc[i][j][2 * h + 1]);
        }
    }
}

// stage 1: result [2, 8, 8, 8], summing [2, 3, 2], tc16x8x16/w1x1/p3
__device__ const int kas_s1_at[36] = {0,0,0,1,0,0,0,1,1,1,1,1,0,2,2,1,2,2,256,0,0,257,0,0,256,1,1,257,1,1,256,2,2,257,2,2};
__device__ const int kas_s1_bt[12] = {0,1,16,17,32,33,48,49,64,65,80,81};
// tensor cores (mma.sync m16n8k8 tf32): M = 128 (dims [0, 2, 3]), N = 8 (dims [1]), Z = 1 (dims []), K = 12; tile tc16x8x16/w1x1/p3
extern "C" __global__ void __launch_bounds__(32, 1) kas_s1(const float *__restrict__ s0, const float *__restrict__ w2, float *__restrict__ out)
{
    KAS_DYNAMIC_SHARED(kas_smem);
    float *const As = reinterpret_cast<float *>(kas_smem);
    float *const Bs = As + 960;
    const unsigned tid = threadIdx.x;
    int bid = blockIdx.x;
    const int m0 = (bid % 8) * 16; bid /= 8;
    const int n0 = (bid % 1) * 8; bid /= 1;
    const int split = 0;
    (void)bid;
    const int kbeg = split * 16;
    const int kend = kbeg + 16 < 12 ? kbeg + 16 : 12;
    unsigned arow[8], akl[8];
    bool aok[8];
    int ab[8];
    int ag0[8];
    int ao2[8];
    #pragma unroll
    for (int j = 0; j < 8; ++j) {
        const unsigned e = tid + 32u * j;
        arow[j] = e / 16u; akl[j] = (e % 16u) * 1u;
        int row = m0 + arow[j];
        bool ok = e < 256u && row < 128;
        if (!ok) row = 0;
        const int o3 = row % 8; row /= 8;
        const int o2 = row % 8; row /= 8;
        const int o0 = row;
        (void)row;
        ab[j] = (0 + 128 * o0 + 2 * o3);
        ag0[j] = (-1 + 1 * o2);
        ao2[j] = o2;
        aok[j] = ok;
    }
    unsigned brow[2], bkl[2];
    bool bok[2];
    int bb[2];
    #pragma unroll
    for (int j = 0; j < 2; ++j) {
        const unsigned e = tid + 32u * j;
        brow[j] = e / 8u; bkl[j] = (e % 8u) * 2u;
        int row = n0 + brow[j];
        bool ok = e < 64u && row < 8;
        if (!ok) row = 0;
        const int o1 = row;
        (void)row;
        bb[j] = (0 + 2 * o1);
        bok[j] = ok;
    }
    float acc[1][1][4];
    #pragma unroll
    for (int i = 0; i < 1; ++i)
        #pragma unroll
        for (int j = 0; j < 1; ++j)
            #pragma unroll
            for (int q = 0; q < 4; ++q) acc[i][j][q] = 0.0f;
    const unsigned lane = tid % 32u, g = lane / 4u, tg = lane % 4u;
    const unsigned wr = ((tid / 32u) % 1u) * 16u, wc = ((tid / 32u) / 1u) * 8u;
    // Prologue: slices 0 .. 1 in flight.
    #pragma unroll
    for (int st = 0; st < 2; ++st) {
    const int kb = kbeg + st * 16;
    #pragma unroll
    for (int j = 0; j < 8; ++j) {
        const auto *sp = s0; unsigned sn = 0u;
        const int kk = kb + akl[j];
        if (aok[j] && kk < kend) {
            const int *tk = kas_s1_at + kk * 3;
            const int o2 = ao2[j];
            const int r1 = __ldg(tk + 2);
            const int g0 = ag0[j] + __ldg(tk + 1);
            if (g0 >= 0 && g0 < 8) { sp = s0 + (ab[j] + __ldg(tk) + (((((o2 + r1) - 1) + 1) >= 8 ? (((o2 + r1) - 1) + 1) - 8 : (((o2 + r1) - 1) + 1))) * 16); sn = 4u; }
        }
        kas_cp_async4(As + st * 320 + (arow[j]) * 20 + (akl[j]), sp, sn);
    }
    #pragma unroll
    for (int j = 0; j < 2; ++j) {
        const auto *sp = w2; unsigned sn = 0u;
        const int kk = kb + bkl[j];
        if (bok[j] && kk < kend) {
            const int *tk = kas_s1_bt + kk * 1;
            { sp = w2 + (bb[j] + __ldg(tk)); sn = 8u; }
        }
        kas_cp_async8(Bs + st * 160 + (brow[j]) * 20 + (bkl[j]), sp, sn);
    }
    kas_cp_commit();
    }
    int rs = 0;
    for (int kt = kbeg; kt < kend; kt += 16) {
    kas_cp_wait<1>();
    __syncthreads();
    {
    const int st = rs == 0 ? 2 : rs - 1;
    const int kb = kt + 32;
    #pragma unroll
    for (int j = 0; j < 8; ++j) {
        const auto *sp = s0; unsigned sn = 0u;
        const int kk = kb + akl[j];
        if (aok[j] && kk < kend) {
            const int *tk = kas_s1_at + kk * 3;
            const int o2 = ao2[j];
            const int r1 = __ldg(tk + 2);
            const int g0 = ag0[j] + __ldg(tk + 1);
            if (g0 >= 0 && g0 < 8) { sp = s0 + (ab[j] + __ldg(tk) + (((((o2 + r1) - 1) + 1) >= 8 ? (((o2 + r1) - 1) + 1) - 8 : (((o2 + r1) - 1) + 1))) * 16); sn = 4u; }
        }
        kas_cp_async4(As + st * 320 + (arow[j]) * 20 + (akl[j]), sp, sn);
    }
    #pragma unroll
    for (int j = 0; j < 2; ++j) {
        const auto *sp = w2; unsigned sn = 0u;
        const int kk = kb + bkl[j];
        if (bok[j] && kk < kend) {
            const int *tk = kas_s1_bt + kk * 1;
            { sp = w2 + (bb[j] + __ldg(tk)); sn = 8u; }
        }
        kas_cp_async8(Bs + st * 160 + (brow[j]) * 20 + (bkl[j]), sp, sn);
    }
    kas_cp_commit();
    }
    #pragma unroll
    for (int ks = 0; ks < 16; ks += 8) {
        unsigned a[1][4], b[1][2];
        #pragma unroll
        for (int i = 0; i < 1; ++i) {
            const unsigned r0 = wr + i * 16u;
            kas_ldsm_x4(a[i], As + rs * 320 + (r0 + lane % 16u) * 20 + (ks + (lane / 16u) * 4u));
            #pragma unroll
            for (int q = 0; q < 4; ++q) a[i][q] = kas_tf32_bits(a[i][q]);
        }
        #pragma unroll
        for (int j = 0; j < 1; ++j) {
            const unsigned c0 = wc + j * 8u;
            kas_ldsm_x2(b[j], Bs + rs * 160 + (c0 + lane % 8u) * 20 + (ks + ((lane / 8u) % 2u) * 4u));
            b[j][0] = kas_tf32_bits(b[j][0]); b[j][1] = kas_tf32_bits(b[j][1]);
        }
        #pragma unroll
        for (int i = 0; i < 1; ++i)
            #pragma unroll
            for (int j = 0; j < 1; ++j) kas_mma_tf32(acc[i][j], a[i], b[j]);
    }
    rs = rs == 2 ? 0 : rs + 1;
    }
    kas_cp_wait<0>();
    const int zo = split * 1024 + 0;
    #pragma unroll
    for (int i = 0; i < 1; ++i)
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
        for (int j = 0; j < 1; ++j) {
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
