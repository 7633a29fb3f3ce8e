#ifndef KAS_DIV
/* Floor division (rounds toward minus infinity), for b > 0. */
#define KAS_DIV(a, b) ((a) / (b) - ((a) % (b) < 0))
#endif
#ifndef KAS_MOD
/* Euclidean remainder, in [0, b) for b > 0 (also when a < 0). */
#define KAS_MOD(a, b) ((a) % (b) + ((a) % (b) < 0 ? (b) : 0))
#endif

/*
 * two_weights: forward loop nest of a kas operator (printed by kas-primitives).
 *
 *   out[x0, d12, d3] = sum over d8, d13 of in[..] * w1[..] * w2[..]
 *   (a term is zero when an Unfold index leaves its range: zero padding)
 *
 * Shapes (dense, row-major):
 *   in   [N, C_in, H]
 *   w1   [C_in, k]
 *   w2   [C_out, C_in]
 *   out  [N, C_out, H]
 * Output loops: x0 < N, d12 < C_out, d3 < H
 * Reduction loops: d8 < k, d13 < C_in
 * Indices:
 *   in[x0, d13, d3 + d8 - (k div 2)]
 *   w1[d13, d8]
 *   w2[d12, d13]
 * Guard: 0 <= d3 + d8 - (k div 2) < H
 * Declared values: k = 3
 */
void two_weights(long N, long C_in, long C_out, long H, long k,
                 const double *in, const double *w1, const double *w2, double *out)
{
    for (long x0 = 0; x0 < N; x0++) {
        for (long d12 = 0; d12 < C_out; d12++) {
            for (long d3 = 0; d3 < H; d3++) {
                double acc = 0.0;
                for (long d8 = 0; d8 < k; d8++) {
                    for (long d13 = 0; d13 < C_in; d13++) {
                        const long x2 = d3 + d8 - KAS_DIV(k, 2);
                        if (0 <= x2 && x2 < H) {
                            acc += in[(x0*C_in + d13)*H + x2] *
                                   w1[d13*k + d8] *
                                   w2[d12*C_in + d13];
                        }
                    }
                }
                out[(x0*C_out + d12)*H + d3] = acc;
            }
        }
    }
}
