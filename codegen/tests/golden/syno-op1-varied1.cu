// kas: generated CUDA kernels, binding `golden`; f32 in and out; schedule 128x2x8/1x1 | flat.
// Floor division and Euclidean remainder (exact for negative a).
#ifndef KAS_DIV
#define KAS_DIV(a, b) ((a) >= 0 ? (a) / (b) : -((-(a) + (b) - 1) / (b)))
#define KAS_MOD(a, b) ((((a) % (b)) + (b)) % (b))
#endif

// stage 0: result [2, 6, 6, 2, 3, 2], summing [4], 128x2x8/1x1
// tiled: M = 72 (dims [0, 1, 2]), N = 2 (dims [3]), Z = 6 (dims [4, 5]), K = 4; tile 128x2x8/1x1
extern "C" __global__ void __launch_bounds__(256, 1) kas_s0(const float *__restrict__ in, const float *__restrict__ w1, float *__restrict__ out)
{
    __shared__ __align__(16) float As[2][8][132];
    __shared__ __align__(16) float Bs[2][8][6];
    const unsigned tid = threadIdx.x;
    int bid = blockIdx.x;
    const int m0 = (bid % 1) * 128; bid /= 1;
    const int n0 = (bid % 1) * 2; bid /= 1;
    const int split = 0;
    const int o5 = bid % 2; bid /= 2;
    const int o4 = bid;
    const int kbeg = split * 8;
    const int kend = kbeg + 8 < 4 ? kbeg + 8 : 4;
    unsigned arow[4], akl[4];
    bool aok[4];
    int ab[4];
    #pragma unroll
    for (int j = 0; j < 4; ++j) {
        const unsigned e = tid + 256u * j;
        arow[j] = ((tid % 32u) + 32u * (j % 4u)) * 1u; akl[j] = tid / 32u + 8u * (j / 4u);
        int row = m0 + arow[j];
        bool ok = e < 1024u && row < 72;
        if (!ok) row = 0;
        const int o2 = row % 6; row /= 6;
        const int o1 = row % 6; row /= 6;
        const int o0 = row;
        (void)row;
        ab[j] = (-1 + 288 * o0 + 6 * o1 + 1 * o2 + 1 * o4 + 144 * o5);
        { const int g = (-1 + 1 * o2 + 1 * o4); ok = ok && g >= 0 && g < 6; }
        aok[j] = ok;
    }
    unsigned brow[1], bkl[1];
    bool bok[1];
    int bb[1];
    #pragma unroll
    for (int j = 0; j < 1; ++j) {
        const unsigned e = tid + 256u * j;
        brow[j] = (e % 1u) * 2u; bkl[j] = e / 1u;
        int row = n0 + brow[j];
        bool ok = e < 8u && row < 2;
        if (!ok) row = 0;
        const int o3 = row;
        (void)row;
        bb[j] = (0 + 1 * o3 + 2 * o4 + 24 * o5);
        bok[j] = ok;
    }
    float ar[4];
    float2 br[1];
    float acc[1][1];
    #pragma unroll
    for (int i = 0; i < 1; ++i)
        #pragma unroll
        for (int j = 0; j < 1; ++j) acc[i][j] = 0.0f;
    const unsigned tmi = tid % 128u;
    const unsigned tni = tid / 128u;
    #pragma unroll
    for (int j = 0; j < 4; ++j) {
        float v = 0.0f;
        const int kk = kbeg + akl[j];
        if (aok[j] && kk < kend) {
            v = in[ab[j] + kk * 36];
        }
        ar[j] = v;
    }
    #pragma unroll
    for (int j = 0; j < 1; ++j) {
        float2 v = make_float2(0.0f, 0.0f);
        const int kk = kbeg + bkl[j];
        if (bok[j] && kk < kend) {
            v = __ldg(reinterpret_cast<const float2 *>(w1 + (bb[j] + kk * 6)));
        }
        br[j] = v;
    }
    #pragma unroll
    for (int j = 0; j < 4; ++j) {
        As[0][akl[j]][arow[j]] = ar[j];
    }
    #pragma unroll
    for (int j = 0; j < 1; ++j) {
        if (tid + 256u * j < 8u) *reinterpret_cast<float2 *>(&Bs[0][bkl[j]][brow[j]]) = br[j];
    }
    __syncthreads();
    int cur = 0;
    for (int kt = kbeg; kt < kend; kt += 8) {
    const bool more = kt + 8 < kend;
    if (more) {
    #pragma unroll
    for (int j = 0; j < 4; ++j) {
        float v = 0.0f;
        const int kk = (kt + 8) + akl[j];
        if (aok[j] && kk < kend) {
            v = in[ab[j] + kk * 36];
        }
        ar[j] = v;
    }
    #pragma unroll
    for (int j = 0; j < 1; ++j) {
        float2 v = make_float2(0.0f, 0.0f);
        const int kk = (kt + 8) + bkl[j];
        if (bok[j] && kk < kend) {
            v = __ldg(reinterpret_cast<const float2 *>(w1 + (bb[j] + kk * 6)));
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
    for (int j = 0; j < 4; ++j) {
        As[cur ^ 1][akl[j]][arow[j]] = ar[j];
    }
    #pragma unroll
    for (int j = 0; j < 1; ++j) {
        if (tid + 256u * j < 8u) *reinterpret_cast<float2 *>(&Bs[cur ^ 1][bkl[j]][brow[j]]) = br[j];
    }
    }
    __syncthreads();
    cur ^= 1;
    }
    const int zo = split * 864 + 288 * o4 + 144 * o5;
    int mo[1]; bool mok[1];
    #pragma unroll
    for (int i = 0; i < 1; ++i) {
        int mi = m0 + (i / 1) * 128 + tmi * 1 + (i % 1);
        mok[i] = mi < 72;
        if (!mok[i]) mi = 0;
        const int o2 = mi % 6; mi /= 6;
        const int o1 = mi % 6; mi /= 6;
        const int o0 = mi;
        (void)mi;
        mo[i] = 36 * o0 + 6 * o1 + 1 * o2;
    }
    int no[1]; bool nok[1];
    #pragma unroll
    for (int j = 0; j < 1; ++j) {
        int nj = n0 + (j / 1) * 2 + tni * 1 + (j % 1);
        nok[j] = nj < 2;
        if (!nok[j]) nj = 0;
        const int o3 = nj;
        (void)nj;
        no[j] = 72 * o3;
    }
    #pragma unroll
    for (int i = 0; i < 1; i += 1)
        #pragma unroll
        for (int j = 0; j < 1; j += 1)
            if (mok[i] && nok[j]) out[zo + mo[i] + no[j]] = acc[i][j];
}

// stage 1: result [2, 8, 6, 6], summing [2, 3, 3, 2], flat
extern "C" __global__ void kas_s1(const float *__restrict__ s0, const float *__restrict__ w2, float *__restrict__ out)
{
    for (int t = (int)blockIdx.x * blockDim.x + threadIdx.x; t < (int)576; t += (int)gridDim.x * blockDim.x) {
        int rem = t;
        const int o3 = rem % 6; rem /= 6;
        const int o2 = rem % 6; rem /= 6;
        const int o1 = rem % 8; rem /= 8;
        const int o0 = rem;
        float acc = 0.0f;
        for (int r0 = 0; r0 < 2; ++r0) {
            for (int r1 = 0; r1 < 3; ++r1) {
                for (int r2 = 0; r2 < 3; ++r2) {
                    for (int r3 = 0; r3 < 2; ++r3) {
                        const int g0 = ((o2 + r1) - 1);
                        if (g0 >= 0 && g0 < 6) acc += s0[((((((r2) * 2 + (r0)) * 2 + (r3)) * 2 + (o0)) * 6 + (((o2 + r1) - 1))) * 6 + (o3))] * w2[(((((r0) * 3 + (r1)) * 3 + (r2)) * 8 + (o1)) * 2 + (r3))];
                    }
                }
            }
        }
        out[t] = acc;
    }
}
