// kas: generated CUDA kernels, binding `golden`; f32 in and out; schedule direct.
// Floor division and Euclidean remainder (exact for negative a).
#ifndef KAS_DIV
#define KAS_DIV(a, b) ((a) >= 0 ? (a) / (b) : -((-(a) + (b) - 1) / (b)))
#define KAS_MOD(a, b) ((((a) % (b)) + (b)) % (b))
#endif

// stage 0: result [1, 64, 48, 48], summing [16384, 3, 3], direct
extern "C" __global__ void kas_s0(const float *__restrict__ in, const float *__restrict__ w1, float *__restrict__ out)
{
    for (long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x; t < (long long)147456; t += (long long)gridDim.x * blockDim.x) {
        long long rem = t;
        const long long o3 = rem % 48; rem /= 48;
        const long long o2 = rem % 48; rem /= 48;
        const long long o1 = rem % 64; rem /= 64;
        const long long o0 = rem;
        float acc = 0.0f;
        for (long long r0 = 0; r0 < 16384; ++r0) {
            for (long long r1 = 0; r1 < 3; ++r1) {
                for (long long r2 = 0; r2 < 3; ++r2) {
                    const long long g0 = ((o2 + r1) - 1);
                    const long long g1 = ((o3 + r2) - 1);
                    if (g0 >= 0 && g0 < 48 && g1 >= 0 && g1 < 48) acc += in[((((o0) * 16384 + (r0)) * 48 + (((o2 + r1) - 1))) * 48 + (((o3 + r2) - 1)))] * w1[((((o1) * 16384 + (r0)) * 3 + (r1)) * 3 + (r2))];
                }
            }
        }
        out[t] = acc;
    }
}
