// kas: generated CUDA kernels, binding `golden`; f32 in and out; schedule flat | 128x2x8/1x1.
// Floor division and Euclidean remainder (exact for negative a).
#ifndef KAS_DIV
#define KAS_DIV(a, b) ((a) >= 0 ? (a) / (b) : -((-(a) + (b) - 1) / (b)))
#define KAS_MOD(a, b) ((((a) % (b)) + (b)) % (b))
#endif

// stage 0: result [2, 8, 8, 2, 2], summing [3, 4], flat
extern "C" __global__ void kas_s0(const float *__restrict__ in, const float *__restrict__ w1, float *__restrict__ out)
{
    for (int t = (int)blockIdx.x * blockDim.x + threadIdx.x; t < (int)512; t += (int)gridDim.x * blockDim.x) {
        int rem = t;
        const int o2 = rem % 8; rem /= 8;
        const int o1 = rem % 8; rem /= 8;
        const int o0 = rem % 2; rem /= 2;
        const int o3 = rem % 2; rem /= 2;
        const int o4 = rem;
        float acc = 0.0f;
        for (int r0 = 0; r0 < 3; ++r0) {
            for (int r1 = 0; r1 < 4; ++r1) {
                const int g0 = ((o2 + r0) - 1);
                if (g0 >= 0 && g0 < 8) acc += in[((((o0) * 8 + (((o4 * 4) + r1))) * 8 + (o1)) * 8 + (((o2 + r0) - 1)))] * w1[(((((o4 * 4) + r1)) * 3 + (r0)) * 2 + (o3))];
            }
        }
        out[t] = acc;
    }
}

// stage 1: result [2, 8, 8, 8], summing [2, 3, 2], 128x2x8/1x1
__device__ const int kas_s1_at[36] = {0,0,0,128,0,0,0,1,1,128,1,1,0,2,2,128,2,2,256,0,0,384,0,0,256,1,1,384,1,1,256,2,2,384,2,2};
__device__ const int kas_s1_bt[12] = {0,1,16,17,32,33,48,49,64,65,80,81};
// tiled: M = 128 (dims [0, 2, 3]), N = 8 (dims [1]), Z = 1 (dims []), K = 12; tile 128x2x8/1x1
extern "C" __global__ void __launch_bounds__(256, 1) kas_s1(const float *__restrict__ s0, const float *__restrict__ w2, float *__restrict__ out)
{
    __shared__ __align__(16) float As[2][8][132];
    __shared__ __align__(16) float Bs[2][8][6];
    const unsigned tid = threadIdx.x;
    int bid = blockIdx.x;
    const int m0 = (bid % 1) * 128; bid /= 1;
    const int n0 = (bid % 4) * 2; bid /= 4;
    const int split = 0;
    (void)bid;
    const int kbeg = split * 16;
    const int kend = kbeg + 16 < 12 ? kbeg + 16 : 12;
    unsigned arow[1], akl[1];
    bool aok[1];
    int ab[1];
    int ag0[1];
    int ao2[1];
    #pragma unroll
    for (int j = 0; j < 1; ++j) {
        const unsigned e = tid + 256u * j;
        arow[j] = ((tid % 32u) + 32u * (j % 1u)) * 4u; akl[j] = tid / 32u + 8u * (j / 1u);
        int row = m0 + arow[j];
        bool ok = e < 256u && row < 128;
        if (!ok) row = 0;
        const int o3 = row % 8; row /= 8;
        const int o2 = row % 8; row /= 8;
        const int o0 = row;
        (void)row;
        ab[j] = (0 + 64 * o0 + 1 * o3);
        ag0[j] = (-1 + 1 * o2);
        ao2[j] = o2;
        aok[j] = ok;
    }
    unsigned brow[1], bkl[1];
    bool bok[1];
    int bb[1];
    #pragma unroll
    for (int j = 0; j < 1; ++j) {
        const unsigned e = tid + 256u * j;
        brow[j] = e / 8u; bkl[j] = (e % 8u) * 1u;
        int row = n0 + brow[j];
        bool ok = e < 16u && row < 8;
        if (!ok) row = 0;
        const int o1 = row;
        (void)row;
        bb[j] = (0 + 2 * o1);
        bok[j] = ok;
    }
    float4 ar[1];
    float br[1];
    float acc[1][1];
    #pragma unroll
    for (int i = 0; i < 1; ++i)
        #pragma unroll
        for (int j = 0; j < 1; ++j) acc[i][j] = 0.0f;
    const unsigned tmi = tid % 128u;
    const unsigned tni = tid / 128u;
    #pragma unroll
    for (int j = 0; j < 1; ++j) {
        float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        const int kk = kbeg + akl[j];
        if (aok[j] && kk < kend) {
            const int *tk = kas_s1_at + kk * 3;
            const int o2 = ao2[j];
            const int r1 = __ldg(tk + 2);
            const int g0 = ag0[j] + __ldg(tk + 1);
            if (g0 >= 0 && g0 < 8) v = __ldg(reinterpret_cast<const float4 *>(s0 + (ab[j] + __ldg(tk) + (((((o2 + r1) - 1) + 1) >= 8 ? (((o2 + r1) - 1) + 1) - 8 : (((o2 + r1) - 1) + 1))) * 8)));
        }
        ar[j] = v;
    }
    #pragma unroll
    for (int j = 0; j < 1; ++j) {
        float v = 0.0f;
        const int kk = kbeg + bkl[j];
        if (bok[j] && kk < kend) {
            const int *tk = kas_s1_bt + kk * 1;
            v = w2[bb[j] + __ldg(tk)];
        }
        br[j] = v;
    }
    #pragma unroll
    for (int j = 0; j < 1; ++j) {
        *reinterpret_cast<float4 *>(&As[0][akl[j]][arow[j]]) = ar[j];
    }
    #pragma unroll
    for (int j = 0; j < 1; ++j) {
        if (tid + 256u * j < 16u) Bs[0][bkl[j]][brow[j]] = br[j];
    }
    __syncthreads();
    int cur = 0;
    for (int kt = kbeg; kt < kend; kt += 8) {
    const bool more = kt + 8 < kend;
    if (more) {
    #pragma unroll
    for (int j = 0; j < 1; ++j) {
        float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        const int kk = (kt + 8) + akl[j];
        if (aok[j] && kk < kend) {
            const int *tk = kas_s1_at + kk * 3;
            const int o2 = ao2[j];
            const int r1 = __ldg(tk + 2);
            const int g0 = ag0[j] + __ldg(tk + 1);
            if (g0 >= 0 && g0 < 8) v = __ldg(reinterpret_cast<const float4 *>(s0 + (ab[j] + __ldg(tk) + (((((o2 + r1) - 1) + 1) >= 8 ? (((o2 + r1) - 1) + 1) - 8 : (((o2 + r1) - 1) + 1))) * 8)));
        }
        ar[j] = v;
    }
    #pragma unroll
    for (int j = 0; j < 1; ++j) {
        float v = 0.0f;
        const int kk = (kt + 8) + bkl[j];
        if (bok[j] && kk < kend) {
            const int *tk = kas_s1_bt + kk * 1;
            v = w2[bb[j] + __ldg(tk)];
        }
        br[j] = v;
    }
    }
    #pragma unroll
    for (int q = 0; q < 8; ++q) {
        float a[1], b[1];
        a[0] = As[cur][q][0 + tmi * 1 + 0];
        b[0] = Bs[cur][q][0 + tni * 1 + 0];
        #pragma unroll
        for (int i = 0; i < 1; ++i)
            #pragma unroll
            for (int j = 0; j < 1; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    if (more) {
    #pragma unroll
    for (int j = 0; j < 1; ++j) {
        *reinterpret_cast<float4 *>(&As[cur ^ 1][akl[j]][arow[j]]) = ar[j];
    }
    #pragma unroll
    for (int j = 0; j < 1; ++j) {
        if (tid + 256u * j < 16u) Bs[cur ^ 1][bkl[j]][brow[j]] = br[j];
    }
    }
    __syncthreads();
    cur ^= 1;
    }
    const int zo = split * 1024 + 0;
    int mo[1]; bool mok[1];
    #pragma unroll
    for (int i = 0; i < 1; ++i) {
        int mi = m0 + (i / 1) * 128 + tmi * 1 + (i % 1);
        mok[i] = mi < 128;
        if (!mok[i]) mi = 0;
        const int o3 = mi % 8; mi /= 8;
        const int o2 = mi % 8; mi /= 8;
        const int o0 = mi;
        (void)mi;
        mo[i] = 512 * o0 + 8 * o2 + 1 * o3;
    }
    int no[1]; bool nok[1];
    #pragma unroll
    for (int j = 0; j < 1; ++j) {
        int nj = n0 + (j / 1) * 2 + tni * 1 + (j % 1);
        nok[j] = nj < 8;
        if (!nok[j]) nj = 0;
        const int o1 = nj;
        (void)nj;
        no[j] = 64 * o1;
    }
    #pragma unroll
    for (int i = 0; i < 1; i += 1)
        #pragma unroll
        for (int j = 0; j < 1; j += 1)
            if (mok[i] && nok[j]) out[zo + mo[i] + no[j]] = acc[i][j];
}
