#ifndef KAS_DIV
/* Floor division (rounds toward minus infinity), for b > 0. */
#define KAS_DIV(a, b) ((a) / (b) - ((a) % (b) < 0))
#endif
#ifndef KAS_MOD
/* Euclidean remainder, in [0, b) for b > 0 (also when a < 0). */
#define KAS_MOD(a, b) ((a) % (b) + ((a) % (b) < 0 ? (b) : 0))
#endif

/*
 * shuffle_stride: forward loop nest of a kas operator (printed by kas-primitives).
 *
 *   out[n, co, h] = sum over ci of in[..] * w1[..]
 *
 * Shapes (dense, row-major):
 *   in   [N, C, H]
 *   w1   [C_out, C]
 *   out  [N, C_out, H/s]
 * Output loops: n < N, co < C_out, h < H/s
 * Reduction loops: ci < C
 * Indices:
 *   in[n, (ci mod (C/g))*g + ci div (C/g), s*((h - 1) mod (H/s))]
 *   w1[co, ci]
 * Declared values: s = 2, g = 2
 */
void shuffle_stride(long N, long C, long C_out, long H, long s, long g,
                    const double *in, const double *w1, double *out)
{
    for (long n = 0; n < N; n++) {
        for (long co = 0; co < C_out; co++) {
            for (long h = 0; h < H/s; h++) {
                double acc = 0.0;
                for (long ci = 0; ci < C; ci++) {
                    acc += in[(n*C + KAS_MOD(ci, C/g)*g + KAS_DIV(ci, C/g))*H + s*KAS_MOD(h - 1, H/s)] *
                           w1[co*C + ci];
                }
                out[(n*C_out + co)*(H/s) + h] = acc;
            }
        }
    }
}
