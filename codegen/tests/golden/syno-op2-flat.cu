// kas: generated CUDA kernels, binding `golden`; f32 in and out; schedule flat | flat.
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

// stage 1: result [2, 8, 8, 8], summing [2, 3, 2], flat
extern "C" __global__ void kas_s1(const float *__restrict__ s0, const float *__restrict__ w2, float *__restrict__ out)
{
    for (int t = (int)blockIdx.x * blockDim.x + threadIdx.x; t < (int)1024; t += (int)gridDim.x * blockDim.x) {
        int rem = t;
        const int o3 = rem % 8; rem /= 8;
        const int o2 = rem % 8; rem /= 8;
        const int o1 = rem % 8; rem /= 8;
        const int o0 = rem;
        float acc = 0.0f;
        for (int r0 = 0; r0 < 2; ++r0) {
            for (int r1 = 0; r1 < 3; ++r1) {
                for (int r2 = 0; r2 < 2; ++r2) {
                    const int g0 = ((o2 + r1) - 1);
                    if (g0 >= 0 && g0 < 8) acc += s0[(((((r0) * 2 + (r2)) * 2 + (o0)) * 8 + (((((o2 + r1) - 1) + 1) >= 8 ? (((o2 + r1) - 1) + 1) - 8 : (((o2 + r1) - 1) + 1)))) * 8 + (o3))] * w2[((((r0) * 3 + (r1)) * 8 + (o1)) * 2 + (r2))];
                }
            }
        }
        out[t] = acc;
    }
}
