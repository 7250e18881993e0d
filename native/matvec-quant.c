// matvec-quant.c: the Q8_0 and Q4_0 mat-vec kernels (blocks of 32: an fp16 scale, then int8 or packed 4-bit values), plain C / AVX2 / AVX-512.
#include <stdint.h>

#include "matvec-internal.h"

// ---------------------------------------------------------------------------------------------
// Plain C (any CPU). Eight accumulators so the compiler may vectorize.

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

AVX2 static inline __m256 ld_i8x8(const uint8_t *p) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p))); }

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
// Dispatch (from matvec.c)

rows_fn vb__matvec_pick_quant(int level, int type) {
  switch (level) {
#ifdef VB_X86
    case L_AVX512:
      switch (type) {
        case T_Q8_0: return avx512_q8;
        case T_Q4_0: return avx512_q4;
      }
      return 0;
    case L_AVX2:
      switch (type) {
        case T_Q8_0: return avx2_q8;
        case T_Q4_0: return avx2_q4;
      }
      return 0;
#endif
    case L_C:
      switch (type) {
        case T_Q8_0: return c_q8;
        case T_Q4_0: return c_q4;
      }
      return 0;
  }
  return 0;
}
