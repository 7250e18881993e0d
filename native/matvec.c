// matvec.c: y = W x over raw ggml rows (F32, F16, BF16, Q8_0, Q4_0) with runtime CPU dispatch.
//
// Called through bun:ffi on the model's mapped pages (src/sys/matvec.ts): W is never copied. Three
// variants of every kernel: plain C, AVX2+FMA+F16C and AVX-512 (F+BW+VL), each compiled with
// __attribute__((target)) into the one shim and chosen at the first call with
// __builtin_cpu_supports. Accumulation is float32 (FMA where the CPU has it): results differ from
// the TypeScript reference (float64 accumulation) within the bound stated in test/neural/.

#include <errno.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define VB_X86 1
#endif

enum { T_F32 = 0, T_F16 = 1, T_Q4_0 = 2, T_Q8_0 = 8, T_BF16 = 30 };
enum { L_C = 0, L_AVX2 = 1, L_AVX512 = 2 };

typedef void (*rows_fn)(const uint8_t *w, int cols, const float *x, float *y, int r0, int r1);

// ---------------------------------------------------------------------------------------------
// Plain C (any CPU). Eight accumulators so the compiler may vectorize.

static inline float bits_f32(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static inline float h2f(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 31, man = h & 1023;
  if (exp == 31) return bits_f32(sign | 0x7f800000u | (man << 13));
  if (exp == 0) {
    float v = (float)man * (1.0f / 16777216.0f);  // man * 2^-24, exact
    return sign ? -v : v;
  }
  return bits_f32(sign | ((exp + 112) << 23) | (man << 13));
}

static inline float bf2f(uint16_t h) { return bits_f32((uint32_t)h << 16); }
static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

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

static void c_q8(const uint8_t *wb, int cols, const float *x, float *y, int r0, int r1) {
  int nb = cols / 32;
  for (int r = r0; r < r1; r++) {
    const uint8_t *p = wb + (size_t)r * nb * 34;
    float acc = 0;
    for (int b = 0; b < nb; b++, p += 34) {
      const int8_t *q = (const int8_t *)(p + 2);
      const float *xb = x + b * 32;
      float a[8] = {0};
      for (int k = 0; k < 32; k += 8)
        for (int i = 0; i < 8; i++) a[i] += (float)q[k + i] * xb[k + i];
      acc += h2f(rd16(p)) * (((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7])));
    }
    y[r] = acc;
  }
}

static void c_q4(const uint8_t *wb, int cols, const float *x, float *y, int r0, int r1) {
  int nb = cols / 32;
  for (int r = r0; r < r1; r++) {
    const uint8_t *p = wb + (size_t)r * nb * 18;
    float acc = 0;
    for (int b = 0; b < nb; b++, p += 18) {
      const uint8_t *q = p + 2;
      const float *xb = x + b * 32;
      float a[8] = {0};
      for (int k = 0; k < 16; k += 8)
        for (int i = 0; i < 8; i++) a[i] += (float)((q[k + i] & 15) - 8) * xb[k + i] + (float)((q[k + i] >> 4) - 8) * xb[k + i + 16];
      acc += h2f(rd16(p)) * (((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7])));
    }
    y[r] = acc;
  }
}

#ifdef VB_X86
// ---------------------------------------------------------------------------------------------
// AVX2 + FMA + F16C

#define AVX2 __attribute__((target("avx2,fma,f16c")))

AVX2 static inline float hsum8(__m256 v) {
  __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  a = _mm_add_ps(a, _mm_movehl_ps(a, a));
  a = _mm_add_ss(a, _mm_movehdup_ps(a));
  return _mm_cvtss_f32(a);
}

AVX2 static inline __m256 ld_f16x8(const uint16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
AVX2 static inline __m256 ld_bf16x8(const uint16_t *p) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}
AVX2 static inline __m256 ld_i8x8(const uint8_t *p) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p))); }

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

AVX2 static void avx2_q8(const uint8_t *wb, int cols, const float *x, float *y, int r0, int r1) {
  int nb = cols / 32;
  for (int r = r0; r < r1; r++) {
    const uint8_t *p = wb + (size_t)r * nb * 34;
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++, p += 34) {
      const float *xb = x + b * 32;
      __m256 s = _mm256_mul_ps(ld_i8x8(p + 2), _mm256_loadu_ps(xb));
      s = _mm256_fmadd_ps(ld_i8x8(p + 10), _mm256_loadu_ps(xb + 8), s);
      s = _mm256_fmadd_ps(ld_i8x8(p + 18), _mm256_loadu_ps(xb + 16), s);
      s = _mm256_fmadd_ps(ld_i8x8(p + 26), _mm256_loadu_ps(xb + 24), s);
      acc = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(rd16(p))), s, acc);
    }
    y[r] = hsum8(acc);
  }
}

AVX2 static void avx2_q4(const uint8_t *wb, int cols, const float *x, float *y, int r0, int r1) {
  int nb = cols / 32;
  const __m128i m4 = _mm_set1_epi8(15), e8 = _mm_set1_epi8(8);
  for (int r = r0; r < r1; r++) {
    const uint8_t *p = wb + (size_t)r * nb * 18;
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++, p += 18) {
      const float *xb = x + b * 32;
      __m128i q = _mm_loadu_si128((const __m128i *)(p + 2));
      __m128i lo = _mm_sub_epi8(_mm_and_si128(q, m4), e8);
      __m128i hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(q, 4), m4), e8);
      __m256 s = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo)), _mm256_loadu_ps(xb));
      s = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8))), _mm256_loadu_ps(xb + 8), s);
      s = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi)), _mm256_loadu_ps(xb + 16), s);
      s = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8))), _mm256_loadu_ps(xb + 24), s);
      acc = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(rd16(p))), s, acc);
    }
    y[r] = hsum8(acc);
  }
}

// ---------------------------------------------------------------------------------------------
// AVX-512 (F + BW + VL; F16C/FMA for the scalar parts)

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))

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

AVX512 static void avx512_q8(const uint8_t *wb, int cols, const float *x, float *y, int r0, int r1) {
  int nb = cols / 32;
  for (int r = r0; r < r1; r++) {
    const uint8_t *p = wb + (size_t)r * nb * 34;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0;
    for (int b = 0; b < nb; b++, p += 34) {
      const float *xb = x + b * 32;
      __m512 d = _mm512_set1_ps(_cvtsh_ss(rd16(p)));
      __m512 lo = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(p + 2))));
      __m512 hi = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(p + 18))));
      acc0 = _mm512_fmadd_ps(d, _mm512_mul_ps(lo, _mm512_loadu_ps(xb)), acc0);
      acc1 = _mm512_fmadd_ps(d, _mm512_mul_ps(hi, _mm512_loadu_ps(xb + 16)), acc1);
    }
    y[r] = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
  }
}

AVX512 static void avx512_q4(const uint8_t *wb, int cols, const float *x, float *y, int r0, int r1) {
  int nb = cols / 32;
  const __m128i m4 = _mm_set1_epi8(15), e8 = _mm_set1_epi8(8);
  for (int r = r0; r < r1; r++) {
    const uint8_t *p = wb + (size_t)r * nb * 18;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0;
    for (int b = 0; b < nb; b++, p += 18) {
      const float *xb = x + b * 32;
      __m128i q = _mm_loadu_si128((const __m128i *)(p + 2));
      __m512 d = _mm512_set1_ps(_cvtsh_ss(rd16(p)));
      __m512 lo = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_sub_epi8(_mm_and_si128(q, m4), e8)));
      __m512 hi = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(q, 4), m4), e8)));
      acc0 = _mm512_fmadd_ps(d, _mm512_mul_ps(lo, _mm512_loadu_ps(xb)), acc0);
      acc1 = _mm512_fmadd_ps(d, _mm512_mul_ps(hi, _mm512_loadu_ps(xb + 16)), acc1);
    }
    y[r] = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
  }
}
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
  switch (level) {
#ifdef VB_X86
    case L_AVX512:
      switch (type) {
        case T_F32: return avx512_f32;
        case T_F16: return avx512_f16;
        case T_BF16: return avx512_bf16;
        case T_Q8_0: return avx512_q8;
        case T_Q4_0: return avx512_q4;
      }
      return 0;
    case L_AVX2:
      switch (type) {
        case T_F32: return avx2_f32;
        case T_F16: return avx2_f16;
        case T_BF16: return avx2_bf16;
        case T_Q8_0: return avx2_q8;
        case T_Q4_0: return avx2_q4;
      }
      return 0;
#endif
    case L_C:
      switch (type) {
        case T_F32: return c_f32;
        case T_F16: return c_f16;
        case T_BF16: return c_bf16;
        case T_Q8_0: return c_q8;
        case T_Q4_0: return c_q4;
      }
      return 0;
  }
  return 0;
}

/**
 * y[r] = sum_j W[r, j] x[j] for r in [r0, r1): W is `rows` rows of `cols` elements of ggml `type`,
 * contiguous. level: -1 = the best this CPU runs, else 0 C, 1 AVX2, 2 AVX-512 (-ENOTSUP above
 * what the CPU has). -EINVAL for an unknown type, a quantized row that is not whole blocks, or a
 * row range outside the matrix.
 */
int vb_matvec(int type, const void *w, int rows, int cols, const float *x, float *y, int r0, int r1, int level) {
  int best = vb_matvec_best();
  if (level < 0) level = best;
  if (level > best) return -ENOTSUP;
  if (rows < 0 || cols < 0 || r0 < 0 || r1 > rows || r0 > r1) return -EINVAL;
  if ((type == T_Q8_0 || type == T_Q4_0) && cols % 32 != 0) return -EINVAL;
  rows_fn f = pick(level, type);
  if (!f) return -EINVAL;
  if (r0 < r1 && cols > 0) f((const uint8_t *)w, cols, x, y, r0, r1);
  else
    for (int r = r0; r < r1; r++) y[r] = 0;
  return 0;
}
