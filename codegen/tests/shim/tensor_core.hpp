// A host emulation of the CUDA the tensor-core kernels use, for running generated kernels on the
// CPU: one OS thread per CUDA thread of a block (blocks in turn), shared memory as function
// statics or one dynamic buffer per block (poisoned with NaN bytes before each block, so that a
// read of an unwritten element shows), `__syncthreads` as a block barrier, and warp-collective
// instructions through a per-warp exchange and barrier:
//
// - `cp.async`: queued per thread; `commit_group` closes a group and `wait_group N` performs
//   every committed group but the newest N (so a missing wait reads stale shared memory);
//   the source size is at most the copy size and the rest is zero-filled; destinations must be
//   aligned to the copy size and inside the dynamic buffer.
// - `ldmatrix.m8n8.{x1,x2,x4}[.trans].b16`: lanes 8i..8i+7 give the 16-byte rows of matrix i;
//   lane l receives row l/4, elements 2(l%4), 2(l%4)+1 (with .trans: rows 2(l%4), 2(l%4)+1,
//   element l/4), the first in the low half.
// - `mma.sync.m16n8k8` TF32 and `m16n8k16` bf16 (row.col, f32 accumulation): every lane's
//   fragment registers are decoded with the PTX ISA's layouts (g = lane/4, t = lane%4;
//   TF32 a0..a3 = A[g][t], A[g+8][t], A[g][t+4], A[g+8][t+4], b0,b1 = B[t][g], B[t+4][g];
//   bf16 pairs a0..a3 = A[g][2t..], A[g+8][2t..], A[g][2t+8..], A[g+8][2t+8..],
//   b0,b1 = B[2t..][g], B[2t+8..][g]; c0..c3 = C[g][2t], C[g][2t+1], C[g+8][2t], C[g+8][2t+1]),
//   TF32 operands keep their top 19 bits as the hardware does.
//
// KAS_EMULATE_WRONG_A swaps the decoding of a1 and a2 (a permuted fragment mapping): the
// tests check that kernels then disagree with the interpreter.
#include <array>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>
struct kas_dim3 { unsigned x; };
static kas_dim3 blockIdx, blockDim, gridDim;
static thread_local kas_dim3 threadIdx;
static std::barrier<> *kas_bar;
#define __global__
#define __device__
#define __forceinline__
#define __ldg(p) (*(p))
#define __launch_bounds__(...)
#define __shared__ static
#define __align__(x) __attribute__((aligned(x)))
#define __syncthreads() kas_bar->arrive_and_wait()
struct alignas(16) float4 { float x, y, z, w; };
static float4 make_float4(float a, float b, float c, float d) { return {a, b, c, d}; }
struct alignas(8) float2 { float x, y; };
static float2 make_float2(float a, float b) { return {a, b}; }

static void kas_fail(const char *what) { fprintf(stderr, "emulation: %s (thread %u of block %u)\n", what, threadIdx.x, blockIdx.x); std::abort(); }
static float __uint_as_float(unsigned u) { float f; memcpy(&f, &u, 4); return f; }
static unsigned __float_as_uint(float f) { unsigned u; memcpy(&u, &f, 4); return u; }

#define KAS_BF16
typedef unsigned short kas_bf16;
static float kas_bf16_to_f32(kas_bf16 x) { return __uint_as_float((unsigned)x << 16); }
static kas_bf16 kas_f32_to_bf16(float f)
{
    const unsigned u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (kas_bf16)((u >> 16) | 0x40u);
    return (kas_bf16)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
static unsigned kas_pack_bf16x2(float lo, float hi) { return (unsigned)kas_f32_to_bf16(lo) | ((unsigned)kas_f32_to_bf16(hi) << 16); }

#define KAS_TENSOR_CORE
static unsigned char *kas_dyn_smem;
static size_t kas_dyn_bytes;
#define KAS_DYNAMIC_SHARED(name) unsigned char *name = kas_dyn_smem

static void kas_in_smem(const void *p, size_t n, size_t align, const char *what)
{
    const unsigned char *c = (const unsigned char *)p;
    if (c < kas_dyn_smem || c + n > kas_dyn_smem + kas_dyn_bytes) kas_fail(what);
    if ((uintptr_t)p % align != 0) kas_fail(what);
}

struct kas_copy { void *dst; const void *src; unsigned n, size; };
static thread_local std::vector<std::vector<kas_copy>> kas_groups;
static thread_local std::vector<kas_copy> kas_open;
static void kas_cp_async(void *d, const void *s, unsigned n, unsigned size)
{
    kas_in_smem(d, size, size, "cp.async destination outside shared memory or misaligned");
    if (n > size) kas_fail("cp.async source size above the copy size");
    if (n > 0 && (uintptr_t)s % size != 0) kas_fail("cp.async source misaligned");
    kas_open.push_back({d, s, n, size});
}
static void kas_cp_async4(void *d, const void *s, unsigned n) { kas_cp_async(d, s, n, 4); }
static void kas_cp_async8(void *d, const void *s, unsigned n) { kas_cp_async(d, s, n, 8); }
static void kas_cp_async16(void *d, const void *s, unsigned n) { kas_cp_async(d, s, n, 16); }
static void kas_cp_commit() { kas_groups.push_back(std::move(kas_open)); kas_open.clear(); }
template <int N> static void kas_cp_wait()
{
    while (kas_groups.size() > (size_t)N) {
        for (const kas_copy &c : kas_groups.front()) {
            memcpy(c.dst, c.src, c.n);
            memset((unsigned char *)c.dst + c.n, 0, c.size - c.n);
        }
        kas_groups.erase(kas_groups.begin());
    }
}

// One exchange slot per lane, in two sets used alternately: a lane writes set s of
// collective n + 2 only after every lane passed the barrier of collective n + 1, hence after
// every lane finished reading set s of collective n.
struct kas_lane { const void *addr; unsigned a[4], b[2]; };
static std::vector<std::array<std::array<kas_lane, 32>, 2>> kas_slots;
static std::vector<std::unique_ptr<std::barrier<>>> kas_warp_bars;
static thread_local unsigned kas_seq;
static std::array<kas_lane, 32> &kas_exchange(const kas_lane &mine)
{
    const unsigned w = threadIdx.x / 32, l = threadIdx.x % 32;
    auto &set = kas_slots[w][kas_seq++ & 1];
    set[l] = mine;
    kas_warp_bars[w]->arrive_and_wait();
    return set;
}

static void kas_ldsm(unsigned *r, const void *p, int count, bool trans)
{
    kas_lane mine{};
    mine.addr = p;
    auto &set = kas_exchange(mine);
    const unsigned l = threadIdx.x % 32;
    for (int i = 0; i < count; ++i) {
        for (int q = 0; q < 8; ++q) kas_in_smem(set[8 * i + q].addr, 16, 16, "ldmatrix row outside shared memory or misaligned");
        unsigned short lo, hi;
        if (!trans) {
            const unsigned short *row = (const unsigned short *)set[8 * i + l / 4].addr;
            lo = row[2 * (l % 4)];
            hi = row[2 * (l % 4) + 1];
        } else {
            lo = ((const unsigned short *)set[8 * i + 2 * (l % 4)].addr)[l / 4];
            hi = ((const unsigned short *)set[8 * i + 2 * (l % 4) + 1].addr)[l / 4];
        }
        r[i] = (unsigned)lo | ((unsigned)hi << 16);
    }
}
static void kas_ldsm_x1(unsigned *r, const void *p) { kas_ldsm(r, p, 1, false); }
static void kas_ldsm_x2(unsigned *r, const void *p) { kas_ldsm(r, p, 2, false); }
static void kas_ldsm_x4(unsigned *r, const void *p) { kas_ldsm(r, p, 4, false); }
static void kas_ldsm_x1_trans(unsigned *r, const void *p) { kas_ldsm(r, p, 1, true); }
static void kas_ldsm_x2_trans(unsigned *r, const void *p) { kas_ldsm(r, p, 2, true); }
static void kas_ldsm_x4_trans(unsigned *r, const void *p) { kas_ldsm(r, p, 4, true); }

// cvt.rna.tf32.f32: round to nearest, ties away from zero, to 10 mantissa bits.
static unsigned kas_tf32(float f)
{
    unsigned u = __float_as_uint(f);
    if ((u & 0x7f800000u) != 0x7f800000u) u += 0x1000u;
    return u & 0xffffe000u;
}
static unsigned kas_tf32_bits(unsigned u) { return kas_tf32(__uint_as_float(u)); }

#ifdef KAS_EMULATE_WRONG_A
static const int kas_a_row_hi[4] = {0, 0, 1, 1};
static const int kas_a_col_hi[4] = {0, 1, 0, 1};
#else
static const int kas_a_row_hi[4] = {0, 1, 0, 1};
static const int kas_a_col_hi[4] = {0, 0, 1, 1};
#endif

// d += A B for the warp: A is 16 x kdim, B is kdim x 8, decoded from every lane's registers.
static void kas_mma(float *d, const unsigned *a, const unsigned *b, int kdim)
{
    kas_lane mine{};
    memcpy(mine.a, a, sizeof mine.a);
    memcpy(mine.b, b, sizeof mine.b);
    auto &set = kas_exchange(mine);
    float A[16][16], B[16][8];
    for (unsigned l = 0; l < 32; ++l) {
        const unsigned g = l / 4, t = l % 4;
        for (int i = 0; i < 4; ++i) {
            const unsigned row = g + 8 * kas_a_row_hi[i];
            if (kdim == 8) {
                A[row][t + 4 * kas_a_col_hi[i]] = __uint_as_float(set[l].a[i] & 0xffffe000u);
            } else {
                const unsigned col = 2 * t + 8 * kas_a_col_hi[i];
                A[row][col] = kas_bf16_to_f32((kas_bf16)(set[l].a[i] & 0xffffu));
                A[row][col + 1] = kas_bf16_to_f32((kas_bf16)(set[l].a[i] >> 16));
            }
        }
        for (int i = 0; i < 2; ++i) {
            if (kdim == 8) {
                B[t + 4 * i][g] = __uint_as_float(set[l].b[i] & 0xffffe000u);
            } else {
                B[2 * t + 8 * i][g] = kas_bf16_to_f32((kas_bf16)(set[l].b[i] & 0xffffu));
                B[2 * t + 8 * i + 1][g] = kas_bf16_to_f32((kas_bf16)(set[l].b[i] >> 16));
            }
        }
    }
    const unsigned l = threadIdx.x % 32, g = l / 4, t = l % 4;
    for (int q = 0; q < 4; ++q) {
        const unsigned row = g + 8 * (q / 2), col = 2 * t + q % 2;
        float s = d[q];
        for (int k = 0; k < kdim; ++k) s += A[row][k] * B[k][col];
        d[q] = s;
    }
}
static void kas_mma_tf32(float *d, const unsigned *a, const unsigned *b) { kas_mma(d, a, b, 8); }
static void kas_mma_bf16(float *d, const unsigned *a, const unsigned *b) { kas_mma(d, a, b, 16); }

// Runs `body(thread)` for every thread of `grid` blocks of `block` threads, one after another on
// this OS thread: only for kernels without barriers, shared memory or warp collectives.
template <class F> static void kas_launch_in_turn(unsigned grid, unsigned block, F body)
{
    gridDim.x = grid;
    blockDim.x = block;
    for (unsigned b = 0; b < grid; ++b) {
        blockIdx.x = b;
        for (unsigned t = 0; t < block; ++t) {
            threadIdx.x = t;
            body();
        }
    }
}

// Runs `body(thread)` for every thread of `grid` blocks of `block` threads with `smem` bytes of
// dynamic shared memory; every cp.async must be waited for before a thread ends.
template <class F> static void kas_launch(unsigned grid, unsigned block, size_t smem, F body)
{
    gridDim.x = grid;
    blockDim.x = block;
    std::vector<unsigned char> dyn(smem + 16);
    kas_dyn_smem = dyn.data() + (16 - (uintptr_t)dyn.data() % 16) % 16;
    kas_dyn_bytes = smem;
    const unsigned warps = (block + 31) / 32;
    for (unsigned b = 0; b < grid; ++b) {
        blockIdx.x = b;
        memset(kas_dyn_smem, 0xff, smem);
        std::barrier<> bar(block);
        kas_bar = &bar;
        kas_slots.assign(warps, {});
        kas_warp_bars.clear();
        for (unsigned w = 0; w < warps; ++w) kas_warp_bars.emplace_back(new std::barrier<>(32));
        std::vector<std::thread> ts;
        for (unsigned t = 0; t < block; ++t)
            ts.emplace_back([&, t] {
                threadIdx.x = t;
                kas_seq = 0;
                body();
                if (!kas_groups.empty() || !kas_open.empty()) kas_fail("cp.async not waited for");
            });
        for (auto &th : ts) th.join();
    }
}
