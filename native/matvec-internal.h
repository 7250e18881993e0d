// matvec-internal.h: what the mat-vec kernel files share (ggml type and level numbers, fp16/bf16 conversion, target attributes).
// (native/matvec.c describes the kernel variants and their dispatch.)
#ifndef VB_MATVEC_INTERNAL_H
#define VB_MATVEC_INTERNAL_H

#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define VB_X86 1
#endif

enum { T_F32 = 0, T_F16 = 1, T_Q4_0 = 2, T_Q8_0 = 8, T_Q4_K = 12, T_Q6_K = 14, T_BF16 = 30 };
enum { L_C = 0, L_AVX2 = 1, L_AVX512 = 2 };

typedef void (*rows_fn)(const uint8_t *w, int cols, const float *x, float *y, int r0, int r1);
// k-quant rows: xs = the sums of x over each 32-value group (cols/32 floats; Q4_K's mins use them).
typedef void (*kq_fn)(const uint8_t *w, int cols, const float *x, const float *xs, float *y, int r0, int r1);

// Called from matvec.c's dispatch only: hidden, so the shim exports nothing new.
#define VB_INTERNAL __attribute__((visibility("hidden")))

// The Q8_0 / Q4_0 kernel for this level and type (native/matvec-quant.c), or 0.
VB_INTERNAL rows_fn vb__matvec_pick_quant(int level, int type);
// The Q4_K / Q6_K kernel for this level and type (native/matvec-kquant.c), or 0.
VB_INTERNAL kq_fn vb__matvec_pick_kquant(int level, int type);

// Plain C helpers (any CPU).
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

#ifdef VB_X86
#define AVX2 __attribute__((target("avx2,fma,f16c")))

AVX2 static inline float hsum8(__m256 v) {
  __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  a = _mm_add_ps(a, _mm_movehl_ps(a, a));
  a = _mm_add_ss(a, _mm_movehdup_ps(a));
  return _mm_cvtss_f32(a);
}

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))
#endif

#endif
