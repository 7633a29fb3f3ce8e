// kas: generated CUDA kernels, binding `golden`; f32 in and out; schedule 128x2x8/1x1 | 128x2x8/1x1/s2.
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

// stage 1: result [2, 8, 6, 6], summing [2, 3, 3, 2], 128x2x8/1x1/s2
__device__ const int kas_s1_at[72] = {0,0,72,0,288,0,360,0,576,0,648,0,6,1,78,1,294,1,366,1,582,1,654,1,12,2,84,2,300,2,372,2,588,2,660,2,144,0,216,0,432,0,504,0,720,0,792,0,150,1,222,1,438,1,510,1,726,1,798,1,156,2,228,2,444,2,516,2,732,2,804,2};
__device__ const int kas_s1_bt[36] = {0,1,16,17,32,33,48,49,64,65,80,81,96,97,112,113,128,129,144,145,160,161,176,177,192,193,208,209,224,225,240,241,256,257,272,273};
// tiled: M = 72 (dims [0, 2, 3]), N = 8 (dims [1]), Z = 1 (dims []), K = 36; tile 128x2x8/1x1/s2
extern "C" __global__ void __launch_bounds__(256, 1) kas_s1(const float *__restrict__ s0, const float *__restrict__ w2, float *__restrict__ out)
{
    __shared__ __align__(16) float As[2][8][132];
    __shared__ __align__(16) float Bs[2][8][6];
    const unsigned tid = threadIdx.x;
    int bid = blockIdx.x;
    const int m0 = (bid % 1) * 128; bid /= 1;
    const int n0 = (bid % 4) * 2; bid /= 4;
    const int split = bid % 2; bid /= 2;
    (void)bid;
    const int kbeg = split * 24;
    const int kend = kbeg + 24 < 36 ? kbeg + 24 : 36;
    unsigned arow[2], akl[2];
    bool aok[2];
    int ab[2];
    int ag0[2];
    #pragma unroll
    for (int j = 0; j < 2; ++j) {
        const unsigned e = tid + 256u * j;
        arow[j] = ((tid % 32u) + 32u * (j % 2u)) * 2u; akl[j] = tid / 32u + 8u * (j / 2u);
        int row = m0 + arow[j];
        bool ok = e < 512u && row < 72;
        if (!ok) row = 0;
        const int o3 = row % 6; row /= 6;
        const int o2 = row % 6; row /= 6;
        const int o0 = row;
        (void)row;
        ab[j] = (-6 + 36 * o0 + 6 * o2 + 1 * o3);
        ag0[j] = (-1 + 1 * o2);
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
    float2 ar[2];
    float br[1];
    float acc[1][1];
    #pragma unroll
    for (int i = 0; i < 1; ++i)
        #pragma unroll
        for (int j = 0; j < 1; ++j) acc[i][j] = 0.0f;
    const unsigned tmi = tid % 128u;
    const unsigned tni = tid / 128u;
    #pragma unroll
    for (int j = 0; j < 2; ++j) {
        float2 v = make_float2(0.0f, 0.0f);
        const int kk = kbeg + akl[j];
        if (aok[j] && kk < kend) {
            const int *tk = kas_s1_at + kk * 2;
            const int g0 = ag0[j] + __ldg(tk + 1);
            if (g0 >= 0 && g0 < 6) v = __ldg(reinterpret_cast<const float2 *>(s0 + (ab[j] + __ldg(tk))));
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
    for (int j = 0; j < 2; ++j) {
        *reinterpret_cast<float2 *>(&As[0][akl[j]][arow[j]]) = ar[j];
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
    for (int j = 0; j < 2; ++j) {
        float2 v = make_float2(0.0f, 0.0f);
        const int kk = (kt + 8) + akl[j];
        if (aok[j] && kk < kend) {
            const int *tk = kas_s1_at + kk * 2;
            const int g0 = ag0[j] + __ldg(tk + 1);
            if (g0 >= 0 && g0 < 6) v = __ldg(reinterpret_cast<const float2 *>(s0 + (ab[j] + __ldg(tk))));
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
    for (int j = 0; j < 2; ++j) {
        *reinterpret_cast<float2 *>(&As[cur ^ 1][akl[j]][arow[j]]) = ar[j];
    }
    #pragma unroll
    for (int j = 0; j < 1; ++j) {
        if (tid + 256u * j < 16u) Bs[cur ^ 1][bkl[j]][brow[j]] = br[j];
    }
    }
    __syncthreads();
    cur ^= 1;
    }
    const int zo = split * 576 + 0;
    int mo[1]; bool mok[1];
    #pragma unroll
    for (int i = 0; i < 1; ++i) {
        int mi = m0 + (i / 1) * 128 + tmi * 1 + (i % 1);
        mok[i] = mi < 72;
        if (!mok[i]) mi = 0;
        const int o3 = mi % 6; mi /= 6;
        const int o2 = mi % 6; mi /= 6;
        const int o0 = mi;
        (void)mi;
        mo[i] = 288 * o0 + 6 * o2 + 1 * o3;
    }
    int no[1]; bool nok[1];
    #pragma unroll
    for (int j = 0; j < 1; ++j) {
        int nj = n0 + (j / 1) * 2 + tni * 1 + (j % 1);
        nok[j] = nj < 8;
        if (!nok[j]) nj = 0;
        const int o1 = nj;
        (void)nj;
        no[j] = 36 * o1;
    }
    #pragma unroll
    for (int i = 0; i < 1; i += 1)
        #pragma unroll
        for (int j = 0; j < 1; j += 1)
            if (mok[i] && nok[j]) out[zo + mo[i] + no[j]] = acc[i][j];
}
extern "C" __global__ void kas_s1_sum(const float *__restrict__ part, float *__restrict__ out)
{
    for (int t = (int)blockIdx.x * blockDim.x + threadIdx.x; t < (int)576; t += (int)gridDim.x * blockDim.x) {
        float s = 0.0f;
        #pragma unroll
        for (int q = 0; q < 2; ++q) s += part[(int)q * 576 + t];
        out[t] = s;
    }
}
