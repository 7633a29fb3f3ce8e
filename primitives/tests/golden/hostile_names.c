#ifndef KAS_DIV
/* Floor division (rounds toward minus infinity), for b > 0. */
#define KAS_DIV(a, b) ((a) / (b) - ((a) % (b) < 0))
#endif
#ifndef KAS_MOD
/* Euclidean remainder, in [0, b) for b > 0 (also when a < 0). */
#define KAS_MOD(a, b) ((a) % (b) + ((a) % (b) < 0 ? (b) : 0))
#endif

/*
 * hostile_names: forward loop nest of a kas operator (printed by kas-primitives).
 *
 *   out[o0, o1] = sum over acc_, r1 of in[..] * w1[..]
 *   (a term is zero when an Unfold index leaves its range: zero padding)
 *
 * Shapes (dense, row-major):
 *   in   [out, acc, H]
 *   w1   [acc, int]
 *   out  [out, H]
 * Output loops: o0 < out, o1 < H
 * Reduction loops: acc_ < acc, r1 < int
 * Indices:
 *   in[o0, acc_, o1 + r1 - (int div 2)]
 *   w1[acc_, r1]
 * Guard: 0 <= o1 + r1 - (int div 2) < H
 * Parameters renamed for C: out is P0, int is K0
 * Declared values: int = 3
 */
void hostile_names(long P0, long acc, long H, long K0,
                   const double *in, const double *w1, double *out)
{
    for (long o0 = 0; o0 < P0; o0++) {
        for (long o1 = 0; o1 < H; o1++) {
            double acc__ = 0.0;
            for (long acc_ = 0; acc_ < acc; acc_++) {
                for (long r1 = 0; r1 < K0; r1++) {
                    const long g0 = o1 + r1 - KAS_DIV(K0, 2);
                    if (0 <= g0 && g0 < H) {
                        acc__ += in[(o0*acc + acc_)*H + g0] *
                                 w1[acc_*K0 + r1];
                    }
                }
            }
            out[o0*H + o1] = acc__;
        }
    }
}
