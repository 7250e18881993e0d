// matvec.c: y = W x over raw ggml rows (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K) with runtime CPU dispatch; the F32/F16/BF16 kernels.
//
// Called through bun:ffi on the model's mapped pages (src/sys/matvec.ts): W is never copied. Three
// variants of every kernel: plain C, AVX2+FMA+F16C and AVX-512 (F+BW+VL), each compiled with
// __attribute__((target)) into the one shim and chosen at the first call with
// __builtin_cpu_supports. Accumulation is float32 (FMA where the CPU has it): results differ from
// the TypeScript reference (float64 accumulation) within the bound stated in test/neural/.
// The Q8_0/Q4_0 kernels are in matvec-quant.c, Q4_K/Q6_K in matvec-kquant.c; what the files share,
// in matvec-internal.h.

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "matvec-internal.h"

// ---------------------------------------------------------------------------------------------
// Plain C (any CPU). Eight accumulators so the compiler may vectorize.

static void c_f32(const uint8_t *wb, int cols, const float *x, float *y, int r0, int r1) {
  for (int r = r0; r < r1; r++) {
    const float *w = (const float *)(wb + (size_t)r * cols * 4);
    float a[8] = {0};
    int j = 0;
    for (; j + 8 <= cols; j += 8)
      for (int k = 0; k < 8; k++) a[k] += w[j + k] * x[j + k];
    float s = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    for (; j < cols; j++) s += w[j] * x[j];
    y[r] = s;
  }
}

#define C_HALF(name, conv)                                                              \
  static void name(const uint8_t *wb, int cols, const float *x, float *y, int r0, int r1) { \
    for (int r = r0; r < r1; r++) {                                                     \
      const uint16_t *w = (const uint16_t *)(wb + (size_t)r * cols * 2);                \
      float a[8] = {0};                                                                 \
      int j = 0;                                                                        \
      for (; j + 8 <= cols; j += 8)                                                     \
        for (int k = 0; k < 8; k++) a[k] += conv(w[j + k]) * x[j + k];                  \
      float s = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));      \
      for (; j < cols; j++) s += conv(w[j]) * x[j];                                     \
      y[r] = s;                                                                         \
    }                                                                                   \
  }
C_HALF(c_f16, h2f)
C_HALF(c_bf16, bf2f)

#ifdef VB_X86
// ---------------------------------------------------------------------------------------------
// AVX2 + FMA + F16C

AVX2 static inline __m256 ld_f16x8(const uint16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
AVX2 static inline __m256 ld_bf16x8(const uint16_t *p) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}

AVX2 static void avx2_f32(const uint8_t *wb, int cols, const float *x, float *y, int r0, int r1) {
  for (int r = r0; r < r1; r++) {
    const float *w = (const float *)(wb + (size_t)r * cols * 4);
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int j = 0;
    for (; j + 32 <= cols; j += 32) {
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + j), _mm256_loadu_ps(x + j), a0);
      a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + j + 8), _mm256_loadu_ps(x + j + 8), a1);
      a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w + j + 16), _mm256_loadu_ps(x + j + 16), a2);
      a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w + j + 24), _mm256_loadu_ps(x + j + 24), a3);
    }
    for (; j + 8 <= cols; j += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + j), _mm256_loadu_ps(x + j), a0);
    float s = hsum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; j < cols; j++) s += w[j] * x[j];
    y[r] = s;
  }
}

#define AVX2_HALF(name, ld, conv)                                                           \
  AVX2 static void name(const uint8_t *wb, int cols, const float *x, float *y, int r0, int r1) { \
    for (int r = r0; r < r1; r++) {                                                         \
      const uint16_t *w = (const uint16_t *)(wb + (size_t)r * cols * 2);                    \
      __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                           \
      int j = 0;                                                                            \
      for (; j + 32 <= cols; j += 32) {                                                     \
        a0 = _mm256_fmadd_ps(ld(w + j), _mm256_loadu_ps(x + j), a0);                        \
        a1 = _mm256_fmadd_ps(ld(w + j + 8), _mm256_loadu_ps(x + j + 8), a1);                \
        a2 = _mm256_fmadd_ps(ld(w + j + 16), _mm256_loadu_ps(x + j + 16), a2);              \
        a3 = _mm256_fmadd_ps(ld(w + j + 24), _mm256_loadu_ps(x + j + 24), a3);              \
      }                                                                                     \
      for (; j + 8 <= cols; j += 8) a0 = _mm256_fmadd_ps(ld(w + j), _mm256_loadu_ps(x + j), a0); \
      float s = hsum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));         \
      for (; j < cols; j++) s += conv(w[j]) * x[j];                                         \
      y[r] = s;                                                                             \
    }                                                                                       \
  }
AVX2_HALF(avx2_f16, ld_f16x8, h2f)
AVX2_HALF(avx2_bf16, ld_bf16x8, bf2f)

// ---------------------------------------------------------------------------------------------
// AVX-512 (F + BW + VL; F16C/FMA for the scalar parts)

AVX512 static inline __m512 ld_f16x16(const uint16_t *p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p)); }
AVX512 static inline __m512 ld_bf16x16(const uint16_t *p) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p)), 16));
}
AVX512 static inline __m512 ld_f32x16(const float *p) { return _mm512_loadu_ps(p); }

#define AVX512_ROWS(name, T, esize, ld, conv)                                                 \
  AVX512 static void name(const uint8_t *wb, int cols, const float *x, float *y, int r0, int r1) { \
    for (int r = r0; r < r1; r++) {                                                           \
      const T *w = (const T *)(wb + (size_t)r * cols * esize);                                \
      __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                             \
      int j = 0;                                                                              \
      for (; j + 64 <= cols; j += 64) {                                                       \
        a0 = _mm512_fmadd_ps(ld(w + j), _mm512_loadu_ps(x + j), a0);                          \
        a1 = _mm512_fmadd_ps(ld(w + j + 16), _mm512_loadu_ps(x + j + 16), a1);                \
        a2 = _mm512_fmadd_ps(ld(w + j + 32), _mm512_loadu_ps(x + j + 32), a2);                \
        a3 = _mm512_fmadd_ps(ld(w + j + 48), _mm512_loadu_ps(x + j + 48), a3);                \
      }                                                                                       \
      for (; j + 16 <= cols; j += 16) a0 = _mm512_fmadd_ps(ld(w + j), _mm512_loadu_ps(x + j), a0); \
      float s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3))); \
      for (; j < cols; j++) s += conv(w[j]) * x[j];                                           \
      y[r] = s;                                                                               \
    }                                                                                         \
  }
#define ID(v) (v)
AVX512_ROWS(avx512_f32, float, 4, ld_f32x16, ID)
AVX512_ROWS(avx512_f16, uint16_t, 2, ld_f16x16, h2f)
AVX512_ROWS(avx512_bf16, uint16_t, 2, ld_bf16x16, bf2f)
#endif

// ---------------------------------------------------------------------------------------------
// Dispatch

/** Best level this CPU runs (computed once). */
int vb_matvec_best(void) {
  static int best = -1;
  if (best >= 0) return best;
  int b = L_C;
#ifdef VB_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) b = L_AVX2;  // F16C comes with every AVX2 CPU
  if (b == L_AVX2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")) b = L_AVX512;
#endif
  best = b;
  return b;
}

static rows_fn pick(int level, int type) {
  if (type == T_Q8_0 || type == T_Q4_0) return vb__matvec_pick_quant(level, type);
  switch (level) {
#ifdef VB_X86
    case L_AVX512:
      switch (type) {
        case T_F32: return avx512_f32;
        case T_F16: return avx512_f16;
        case T_BF16: return avx512_bf16;
      }
      return 0;
    case L_AVX2:
      switch (type) {
        case T_F32: return avx2_f32;
        case T_F16: return avx2_f16;
        case T_BF16: return avx2_bf16;
      }
      return 0;
#endif
    case L_C:
      switch (type) {
        case T_F32: return c_f32;
        case T_F16: return c_f16;
        case T_BF16: return c_bf16;
      }
      return 0;
  }
  return 0;
}

/** The k-quant path of vb_matvec: the sums of x per 32-value group (in double, rounded once) for Q4_K's mins, then the rows. */
static int kquant(int type, const uint8_t *w, int cols, const float *x, float *y, int r0, int r1, int level) {
  if (cols % 256 != 0) return -EINVAL;
  kq_fn f = vb__matvec_pick_kquant(level, type);
  if (!f) return -EINVAL;
  if (r0 == r1) return 0;
  if (cols == 0) {
    for (int r = r0; r < r1; r++) y[r] = 0;
    return 0;
  }
  float *xs = 0;
  if (type == T_Q4_K) {
    xs = malloc((size_t)(cols / 32) * sizeof(float));
    if (!xs) return -ENOMEM;
    for (int g = 0; g < cols / 32; g++) {
      double s = 0;
      for (int k = 0; k < 32; k++) s += x[32 * g + k];
      xs[g] = (float)s;
    }
  }
  f(w, cols, x, xs, y, r0, r1);
  free(xs);
  return 0;
}

/**
 * y[r] = sum_j W[r, j] x[j] for r in [r0, r1): W is `rows` rows of `cols` elements of ggml `type`,
 * contiguous. level: -1 = the best this CPU runs, else 0 C, 1 AVX2, 2 AVX-512 (-ENOTSUP above
 * what the CPU has). -EINVAL for an unknown type, a quantized row that is not whole blocks (Q4_K,
 * Q6_K: 256-value super-blocks), or a row range outside the matrix; -ENOMEM when Q4_K's per-call
 * group sums of x cannot be allocated.
 */
int vb_matvec(int type, const void *w, int rows, int cols, const float *x, float *y, int r0, int r1, int level) {
  int best = vb_matvec_best();
  if (level < 0) level = best;
  if (level > best) return -ENOTSUP;
  if (rows < 0 || cols < 0 || r0 < 0 || r1 > rows || r0 > r1) return -EINVAL;
  if ((type == T_Q8_0 || type == T_Q4_0) && cols % 32 != 0) return -EINVAL;
  if (type == T_Q4_K || type == T_Q6_K) return kquant(type, (const uint8_t *)w, cols, x, y, r0, r1, level);
  rows_fn f = pick(level, type);
  if (!f) return -EINVAL;
  if (r0 < r1 && cols > 0) f((const uint8_t *)w, cols, x, y, r0, r1);
  else
    for (int r = r0; r < r1; r++) y[r] = 0;
  return 0;
}
