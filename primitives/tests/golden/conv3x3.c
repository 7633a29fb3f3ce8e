#ifndef KAS_DIV
/* Floor division (rounds toward minus infinity), for b > 0. */
#define KAS_DIV(a, b) ((a) / (b) - ((a) % (b) < 0))
#endif
#ifndef KAS_MOD
/* Euclidean remainder, in [0, b) for b > 0 (also when a < 0). */
#define KAS_MOD(a, b) ((a) % (b) + ((a) % (b) < 0 ? (b) : 0))
#endif

/*
 * conv3x3: forward loop nest of a kas operator (printed by kas-primitives).
 *
 *   out[n, co, h, w] = sum over ci, kh, kw of in[..] * w1[..]
 *   (a term is zero when an Unfold index leaves its range: zero padding)
 *
 * Shapes (dense, row-major):
 *   in   [N, C_in, H, W]
 *   w1   [C_out, C_in, k, k]
 *   out  [N, C_out, H, W]
 * Output loops: n < N, co < C_out, h < H, w < W
 * Reduction loops: ci < C_in, kh < k, kw < k
 * Indices:
 *   in[n, ci, h + kh - (k div 2), w + kw - (k div 2)]
 *   w1[co, ci, kh, kw]
 * Guard: 0 <= h + kh - (k div 2) < H
 * Guard: 0 <= w + kw - (k div 2) < W
 * Declared values: k = 3
 */
void conv3x3(long N, long C_in, long C_out, long H, long W, long k,
             const double *in, const double *w1, double *out)
{
    for (long n = 0; n < N; n++) {
        for (long co = 0; co < C_out; co++) {
            for (long h = 0; h < H; h++) {
                for (long w = 0; w < W; w++) {
                    double acc = 0.0;
                    for (long ci = 0; ci < C_in; ci++) {
                        for (long kh = 0; kh < k; kh++) {
                            for (long kw = 0; kw < k; kw++) {
                                const long h_in = h + kh - KAS_DIV(k, 2);
                                const long w_in = w + kw - KAS_DIV(k, 2);
                                if (0 <= h_in && h_in < H &&
                                    0 <= w_in && w_in < W) {
                                    acc += in[((n*C_in + ci)*H + h_in)*W + w_in] *
                                           w1[((co*C_in + ci)*k + kh)*k + kw];
                                }
                            }
                        }
                    }
                    out[((n*C_out + co)*H + h)*W + w] = acc;
                }
            }
        }
    }
}
