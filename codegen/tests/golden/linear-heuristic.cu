// kas: generated CUDA kernels, binding `golden`; f32 in and out; schedule 32x8x8/1x1.
// Floor division and Euclidean remainder (exact for negative a).
#ifndef KAS_DIV
#define KAS_DIV(a, b) ((a) >= 0 ? (a) / (b) : -((-(a) + (b) - 1) / (b)))
#define KAS_MOD(a, b) ((((a) % (b)) + (b)) % (b))
#endif

// stage 0: result [2, 12, 8], summing [16], 32x8x8/1x1
// tiled: M = 24 (dims [0, 1]), N = 8 (dims [2]), Z = 1 (dims []), K = 16; tile 32x8x8/1x1
extern "C" __global__ void __launch_bounds__(256, 1) kas_s0(const float *__restrict__ in, const float *__restrict__ w1, float *__restrict__ out)
{
    __shared__ __align__(16) float As[2][8][36];
    __shared__ __align__(16) float Bs[2][8][12];
    const unsigned tid = threadIdx.x;
    int bid = blockIdx.x;
    const int m0 = (bid % 1) * 32; bid /= 1;
    const int n0 = (bid % 1) * 8; bid /= 1;
    const int split = 0;
    (void)bid;
    const int kbeg = split * 16;
    const int kend = kbeg + 16 < 16 ? kbeg + 16 : 16;
    unsigned arow[1], akl[1];
    bool aok[1];
    int ab[1];
    #pragma unroll
    for (int j = 0; j < 1; ++j) {
        const unsigned e = tid + 256u * j;
        arow[j] = e / 2u; akl[j] = (e % 2u) * 4u;
        int row = m0 + arow[j];
        bool ok = e < 64u && row < 24;
        if (!ok) row = 0;
        const int o1 = row % 12; row /= 12;
        const int o0 = row;
        (void)row;
        ab[j] = (0 + 192 * o0 + 16 * o1);
        aok[j] = ok;
    }
    unsigned brow[1], bkl[1];
    bool bok[1];
    int bb[1];
    #pragma unroll
    for (int j = 0; j < 1; ++j) {
        const unsigned e = tid + 256u * j;
        brow[j] = e / 2u; bkl[j] = (e % 2u) * 4u;
        int row = n0 + brow[j];
        bool ok = e < 16u && row < 8;
        if (!ok) row = 0;
        const int o2 = row;
        (void)row;
        bb[j] = (0 + 16 * o2);
        bok[j] = ok;
    }
    float4 ar[1];
    float4 br[1];
    float acc[1][1];
    #pragma unroll
    for (int i = 0; i < 1; ++i)
        #pragma unroll
        for (int j = 0; j < 1; ++j) acc[i][j] = 0.0f;
    const unsigned tmi = tid % 32u;
    const unsigned tni = tid / 32u;
    #pragma unroll
    for (int j = 0; j < 1; ++j) {
        float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        const int kk = kbeg + akl[j];
        if (aok[j] && kk < kend) {
            v = __ldg(reinterpret_cast<const float4 *>(in + (ab[j] + kk)));
        }
        ar[j] = v;
    }
    #pragma unroll
    for (int j = 0; j < 1; ++j) {
        float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        const int kk = kbeg + bkl[j];
        if (bok[j] && kk < kend) {
            v = __ldg(reinterpret_cast<const float4 *>(w1 + (bb[j] + kk)));
        }
        br[j] = v;
    }
    #pragma unroll
    for (int j = 0; j < 1; ++j) {
        if (tid + 256u * j < 64u) { As[0][akl[j] + 0][arow[j]] = ar[j].x; As[0][akl[j] + 1][arow[j]] = ar[j].y; As[0][akl[j] + 2][arow[j]] = ar[j].z; As[0][akl[j] + 3][arow[j]] = ar[j].w; }
    }
    #pragma unroll
    for (int j = 0; j < 1; ++j) {
        if (tid + 256u * j < 16u) { Bs[0][bkl[j] + 0][brow[j]] = br[j].x; Bs[0][bkl[j] + 1][brow[j]] = br[j].y; Bs[0][bkl[j] + 2][brow[j]] = br[j].z; Bs[0][bkl[j] + 3][brow[j]] = br[j].w; }
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
            v = __ldg(reinterpret_cast<const float4 *>(in + (ab[j] + kk)));
        }
        ar[j] = v;
    }
    #pragma unroll
    for (int j = 0; j < 1; ++j) {
        float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        const int kk = (kt + 8) + bkl[j];
        if (bok[j] && kk < kend) {
            v = __ldg(reinterpret_cast<const float4 *>(w1 + (bb[j] + kk)));
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
        if (tid + 256u * j < 64u) { As[cur ^ 1][akl[j] + 0][arow[j]] = ar[j].x; As[cur ^ 1][akl[j] + 1][arow[j]] = ar[j].y; As[cur ^ 1][akl[j] + 2][arow[j]] = ar[j].z; As[cur ^ 1][akl[j] + 3][arow[j]] = ar[j].w; }
    }
    #pragma unroll
    for (int j = 0; j < 1; ++j) {
        if (tid + 256u * j < 16u) { Bs[cur ^ 1][bkl[j] + 0][brow[j]] = br[j].x; Bs[cur ^ 1][bkl[j] + 1][brow[j]] = br[j].y; Bs[cur ^ 1][bkl[j] + 2][brow[j]] = br[j].z; Bs[cur ^ 1][bkl[j] + 3][brow[j]] = br[j].w; }
    }
    }
    __syncthreads();
    cur ^= 1;
    }
    const int zo = split * 192 + 0;
    int mo[1]; bool mok[1];
    #pragma unroll
    for (int i = 0; i < 1; ++i) {
        int mi = m0 + (i / 1) * 32 + tmi * 1 + (i % 1);
        mok[i] = mi < 24;
        if (!mok[i]) mi = 0;
        const int o1 = mi % 12; mi /= 12;
        const int o0 = mi;
        (void)mi;
        mo[i] = 96 * o0 + 8 * o1;
    }
    int no[1]; bool nok[1];
    #pragma unroll
    for (int j = 0; j < 1; ++j) {
        int nj = n0 + (j / 1) * 8 + tni * 1 + (j % 1);
        nok[j] = nj < 8;
        if (!nok[j]) nj = 0;
        const int o2 = nj;
        (void)nj;
        no[j] = 1 * o2;
    }
    #pragma unroll
    for (int i = 0; i < 1; i += 1)
        #pragma unroll
        for (int j = 0; j < 1; j += 1)
            if (mok[i] && nok[j]) out[zo + mo[i] + no[j]] = acc[i][j];
}
