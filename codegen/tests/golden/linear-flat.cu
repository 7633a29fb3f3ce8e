// kas: generated CUDA kernels, binding `golden`; f32 in and out; schedule flat.
// Floor division and Euclidean remainder (exact for negative a).
#ifndef KAS_DIV
#define KAS_DIV(a, b) ((a) >= 0 ? (a) / (b) : -((-(a) + (b) - 1) / (b)))
#define KAS_MOD(a, b) ((((a) % (b)) + (b)) % (b))
#endif

// stage 0: result [2, 12, 8], summing [16], flat
extern "C" __global__ void kas_s0(const float *__restrict__ in, const float *__restrict__ w1, float *__restrict__ out)
{
    for (int t = (int)blockIdx.x * blockDim.x + threadIdx.x; t < (int)192; t += (int)gridDim.x * blockDim.x) {
        int rem = t;
        const int o2 = rem % 8; rem /= 8;
        const int o1 = rem % 12; rem /= 12;
        const int o0 = rem;
        float acc = 0.0f;
        for (int r0 = 0; r0 < 16; ++r0) {
            acc += in[(((o0) * 12 + (o1)) * 16 + (r0))] * w1[((o2) * 16 + (r0))];
        }
        out[t] = acc;
    }
}
