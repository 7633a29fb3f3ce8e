// kas: generated CUDA kernels, binding `golden`; f32 in and out; schedule direct | direct.
// Floor division and Euclidean remainder (exact for negative a).
#ifndef KAS_DIV
#define KAS_DIV(a, b) ((a) >= 0 ? (a) / (b) : -((-(a) + (b) - 1) / (b)))
#define KAS_MOD(a, b) ((((a) % (b)) + (b)) % (b))
#endif

// stage 0: result [2, 6, 6, 2, 3, 2], summing [4], direct
extern "C" __global__ void kas_s0(const float *__restrict__ in, const float *__restrict__ w1, float *__restrict__ out)
{
    for (int t = (int)blockIdx.x * blockDim.x + threadIdx.x; t < (int)864; t += (int)gridDim.x * blockDim.x) {
        int rem = t;
        const int o5 = rem % 2; rem /= 2;
        const int o4 = rem % 3; rem /= 3;
        const int o3 = rem % 2; rem /= 2;
        const int o2 = rem % 6; rem /= 6;
        const int o1 = rem % 6; rem /= 6;
        const int o0 = rem;
        float acc = 0.0f;
        for (int r0 = 0; r0 < 4; ++r0) {
            const int g0 = ((o2 + o4) - 1);
            if (g0 >= 0 && g0 < 6) acc += in[((((o0) * 8 + (((o5 * 4) + r0))) * 6 + (o1)) * 6 + (((o2 + o4) - 1)))] * w1[(((((o5 * 4) + r0)) * 3 + (o4)) * 2 + (o3))];
        }
        out[t] = acc;
    }
}

// stage 1: result [2, 8, 6, 6], summing [2, 3, 3, 2], direct
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
                        if (g0 >= 0 && g0 < 6) acc += s0[((((((o0) * 6 + (((o2 + r1) - 1))) * 6 + (o3)) * 2 + (r3)) * 3 + (r2)) * 2 + (r0))] * w2[(((((r0) * 3 + (r1)) * 3 + (r2)) * 8 + (o1)) * 2 + (r3))];
                    }
                }
            }
        }
        out[t] = acc;
    }
}
