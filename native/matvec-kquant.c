// matvec-kquant.c: the Q4_K and Q6_K mat-vec kernels (256-value super-blocks, layouts as src/gguf/dequant.ts decodes them), plain C / AVX2 / AVX-512.
//
// Q4_K (144 bytes): f16 d, f16 dmin, 12 bytes of 6-bit scales s[8] / mins m[8], 128 bytes of nibbles;
// value of group g (32 values) = d*s[g]*q - dmin*m[g]. The kernels compute per super-block
// d * sum_g s[g] * sum(q x) - dmin * sum_g m[g] * X[g], with X[g] = sum of x over the group computed
// once per call by the dispatcher (xs). d*s[g] and dmin*m[g] are exact in float32 (11 x 6 bits),
// so this is the dequantized row's dot product up to rounding order.
// Q6_K (210 bytes): 128 bytes ql (low nibbles), 64 bytes qh (2 high bits), 16 int8 scales, f16 d;
// value e = d * sc[e/16] * (q6 - 32). The SIMD kernels unpack a super-block's quants to int8 in a
// stack buffer with byte operations, then widen them from memory 8 or 16 at a time.

#include <stdint.h>

#include "matvec-internal.h"

/** The eight 6-bit scales and mins of a Q4_K super-block (12 bytes at p). */
static inline void q4k_scales(const uint8_t *p, int s[8], int m[8]) {
  for (int g = 0; g < 4; g++) {
    s[g] = p[g] & 63;
    m[g] = p[g + 4] & 63;
    s[g + 4] = (p[g + 8] & 15) | ((p[g] >> 6) << 4);
    m[g + 4] = (p[g + 8] >> 4) | ((p[g + 4] >> 6) << 4);
  }
}

/** The 256 quants of a Q6_K super-block minus 32, in element order, into q (plain C). */
static inline void q6k_unpack(const uint8_t *p, int8_t *q) {
  for (int h = 0; h < 2; h++) {
    const uint8_t *ql = p + 64 * h, *qh = p + 128 + 32 * h;
    int8_t *o = q + 128 * h;
    for (int l = 0; l < 32; l++) {
      o[l] = (int8_t)(((ql[l] & 15) | ((qh[l] & 3) << 4)) - 32);
      o[l + 32] = (int8_t)(((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32);
      o[l + 64] = (int8_t)(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
      o[l + 96] = (int8_t)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Plain C (any CPU). Eight accumulators per group so the compiler may vectorize.

static void c_q4k(const uint8_t *wb, int cols, const float *x, const float *xs, float *y, int r0, int r1) {
  int nb = cols / 256;
  for (int r = r0; r < r1; r++) {
    const uint8_t *p = wb + (size_t)r * nb * 144;
    float acc = 0, macc = 0;
    for (int b = 0; b < nb; b++, p += 144) {
      int s[8], m[8];
      q4k_scales(p + 4, s, m);
      const uint8_t *q = p + 16;
      const float *xb = x + b * 256, *xg = xs + b * 8;
      float sb = 0, mb = 0;
      for (int j = 0; j < 4; j++, q += 32, xb += 64) {
        float a[8] = {0}, c[8] = {0};
        for (int k = 0; k < 32; k += 8)
          for (int i = 0; i < 8; i++) {
            a[i] += (float)(q[k + i] & 15) * xb[k + i];
            c[i] += (float)(q[k + i] >> 4) * xb[32 + k + i];
          }
        float sa = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
        float sc = ((c[0] + c[1]) + (c[2] + c[3])) + ((c[4] + c[5]) + (c[6] + c[7]));
        sb += (float)s[2 * j] * sa + (float)s[2 * j + 1] * sc;
        mb += (float)m[2 * j] * xg[2 * j] + (float)m[2 * j + 1] * xg[2 * j + 1];
      }
      acc += h2f(rd16(p)) * sb;
      macc += h2f(rd16(p + 2)) * mb;
    }
    y[r] = acc - macc;
  }
}

static void c_q6k(const uint8_t *wb, int cols, const float *x, const float *xs, float *y, int r0, int r1) {
  (void)xs;
  int nb = cols / 256;
  int8_t q[256];
  for (int r = r0; r < r1; r++) {
    const uint8_t *p = wb + (size_t)r * nb * 210;
    float acc = 0;
    for (int b = 0; b < nb; b++, p += 210) {
      q6k_unpack(p, q);
      const int8_t *sc = (const int8_t *)(p + 192);
      const float *xb = x + b * 256;
      float sb = 0;
      for (int g = 0; g < 16; g++) {
        float a[8] = {0};
        for (int k = 0; k < 16; k += 8)
          for (int i = 0; i < 8; i++) a[i] += (float)q[16 * g + k + i] * xb[16 * g + k + i];
        sb += (float)sc[g] * (((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7])));
      }
      acc += h2f(rd16(p + 208)) * sb;
    }
    y[r] = acc;
  }
}

#ifdef VB_X86
// ---------------------------------------------------------------------------------------------
// Byte unpacking shared by the AVX2 and AVX-512 kernels (256-bit integer operations).

/** Q4_K: the 128 nibble bytes at q -> 256 quants (0..15) in element order into u. */
AVX2 static inline void q4k_unpack_avx2(const uint8_t *q, uint8_t *u) {
  const __m256i m4 = _mm256_set1_epi8(15);
  for (int j = 0; j < 4; j++) {
    __m256i v = _mm256_loadu_si256((const __m256i *)(q + 32 * j));
    _mm256_storeu_si256((__m256i *)(u + 64 * j), _mm256_and_si256(v, m4));
    _mm256_storeu_si256((__m256i *)(u + 64 * j + 32), _mm256_and_si256(_mm256_srli_epi16(v, 4), m4));
  }
}

/** Q6_K: the quants of the super-block at p minus 32 (-32..31) in element order into q. */
AVX2 static inline void q6k_unpack_avx2(const uint8_t *p, int8_t *q) {
  const __m256i m4 = _mm256_set1_epi8(15), m30 = _mm256_set1_epi8(0x30), c32 = _mm256_set1_epi8(32);
  for (int h = 0; h < 2; h++) {
    __m256i l0 = _mm256_loadu_si256((const __m256i *)(p + 64 * h));
    __m256i l1 = _mm256_loadu_si256((const __m256i *)(p + 64 * h + 32));
    __m256i hb = _mm256_loadu_si256((const __m256i *)(p + 128 + 32 * h));
    // 16-bit shifts: the masks keep only bits that came from the same byte.
    __m256i q1 = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 4), m30));
    __m256i q2 = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 2), m30));
    __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(hb, m30));
    __m256i q4 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), _mm256_and_si256(_mm256_srli_epi16(hb, 2), m30));
    int8_t *o = q + 128 * h;
    _mm256_storeu_si256((__m256i *)o, _mm256_sub_epi8(q1, c32));
    _mm256_storeu_si256((__m256i *)(o + 32), _mm256_sub_epi8(q2, c32));
    _mm256_storeu_si256((__m256i *)(o + 64), _mm256_sub_epi8(q3, c32));
    _mm256_storeu_si256((__m256i *)(o + 96), _mm256_sub_epi8(q4, c32));
  }
}

/** sum of the eight m[g] * xg[g] of one super-block. */
static inline float q4k_mins(const int m[8], const float *xg) {
  return (((float)m[0] * xg[0] + (float)m[1] * xg[1]) + ((float)m[2] * xg[2] + (float)m[3] * xg[3])) +
         (((float)m[4] * xg[4] + (float)m[5] * xg[5]) + ((float)m[6] * xg[6] + (float)m[7] * xg[7]));
}

// ---------------------------------------------------------------------------------------------
// AVX2 + FMA + F16C

AVX2 static inline __m256 ld_u8x8(const uint8_t *p) { return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p))); }
AVX2 static inline __m256 ld_s8x8(const int8_t *p) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p))); }

AVX2 static void avx2_q4k(const uint8_t *wb, int cols, const float *x, const float *xs, float *y, int r0, int r1) {
  int nb = cols / 256;
  uint8_t u[256];
  for (int r = r0; r < r1; r++) {
    const uint8_t *p = wb + (size_t)r * nb * 144;
    __m256 acc = _mm256_setzero_ps();
    float macc = 0;
    for (int b = 0; b < nb; b++, p += 144) {
      int s[8], m[8];
      q4k_scales(p + 4, s, m);
      q4k_unpack_avx2(p + 16, u);
      const float *xb = x + b * 256;
      __m256 sb = _mm256_setzero_ps();
      for (int g = 0; g < 8; g++) {
        const uint8_t *ug = u + 32 * g;
        const float *xg = xb + 32 * g;
        __m256 t0 = _mm256_mul_ps(ld_u8x8(ug), _mm256_loadu_ps(xg));
        __m256 t1 = _mm256_mul_ps(ld_u8x8(ug + 8), _mm256_loadu_ps(xg + 8));
        t0 = _mm256_fmadd_ps(ld_u8x8(ug + 16), _mm256_loadu_ps(xg + 16), t0);
        t1 = _mm256_fmadd_ps(ld_u8x8(ug + 24), _mm256_loadu_ps(xg + 24), t1);
        sb = _mm256_fmadd_ps(_mm256_set1_ps((float)s[g]), _mm256_add_ps(t0, t1), sb);
      }
      acc = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(rd16(p))), sb, acc);
      macc += _cvtsh_ss(rd16(p + 2)) * q4k_mins(m, xs + b * 8);
    }
    y[r] = hsum8(acc) - macc;
  }
}

AVX2 static void avx2_q6k(const uint8_t *wb, int cols, const float *x, const float *xs, float *y, int r0, int r1) {
  (void)xs;
  int nb = cols / 256;
  int8_t q[256];
  for (int r = r0; r < r1; r++) {
    const uint8_t *p = wb + (size_t)r * nb * 210;
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++, p += 210) {
      q6k_unpack_avx2(p, q);
      const int8_t *sc = (const int8_t *)(p + 192);
      const float *xb = x + b * 256;
      __m256 s0 = _mm256_setzero_ps(), s1 = s0;
      for (int g = 0; g < 16; g++) {
        __m256 scv = _mm256_set1_ps((float)sc[g]);  // sc * q is exact: scale first, one rounding per product
        s0 = _mm256_fmadd_ps(_mm256_mul_ps(ld_s8x8(q + 16 * g), scv), _mm256_loadu_ps(xb + 16 * g), s0);
        s1 = _mm256_fmadd_ps(_mm256_mul_ps(ld_s8x8(q + 16 * g + 8), scv), _mm256_loadu_ps(xb + 16 * g + 8), s1);
      }
      acc = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(rd16(p + 208))), _mm256_add_ps(s0, s1), acc);
    }
    y[r] = hsum8(acc);
  }
}

// ---------------------------------------------------------------------------------------------
// AVX-512 (F + BW + VL; F16C/FMA for the scalar parts)

AVX512 static inline __m512 ld_u8x16(const uint8_t *p) { return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)p))); }
AVX512 static inline __m512 ld_s8x16(const int8_t *p) { return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)p))); }

AVX512 static void avx512_q4k(const uint8_t *wb, int cols, const float *x, const float *xs, float *y, int r0, int r1) {
  int nb = cols / 256;
  uint8_t u[256];
  for (int r = r0; r < r1; r++) {
    const uint8_t *p = wb + (size_t)r * nb * 144;
    __m512 acc = _mm512_setzero_ps();
    float macc = 0;
    for (int b = 0; b < nb; b++, p += 144) {
      int s[8], m[8];
      q4k_scales(p + 4, s, m);
      q4k_unpack_avx2(p + 16, u);
      const float *xb = x + b * 256;
      __m512 sb0 = _mm512_setzero_ps(), sb1 = sb0;
      for (int g = 0; g < 8; g += 2) {
        const uint8_t *ug = u + 32 * g;
        const float *xg = xb + 32 * g;
        __m512 t0 = _mm512_fmadd_ps(ld_u8x16(ug + 16), _mm512_loadu_ps(xg + 16), _mm512_mul_ps(ld_u8x16(ug), _mm512_loadu_ps(xg)));
        __m512 t1 = _mm512_fmadd_ps(ld_u8x16(ug + 48), _mm512_loadu_ps(xg + 48), _mm512_mul_ps(ld_u8x16(ug + 32), _mm512_loadu_ps(xg + 32)));
        sb0 = _mm512_fmadd_ps(_mm512_set1_ps((float)s[g]), t0, sb0);
        sb1 = _mm512_fmadd_ps(_mm512_set1_ps((float)s[g + 1]), t1, sb1);
      }
      acc = _mm512_fmadd_ps(_mm512_set1_ps(_cvtsh_ss(rd16(p))), _mm512_add_ps(sb0, sb1), acc);
      macc += _cvtsh_ss(rd16(p + 2)) * q4k_mins(m, xs + b * 8);
    }
    y[r] = _mm512_reduce_add_ps(acc) - macc;
  }
}

AVX512 static void avx512_q6k(const uint8_t *wb, int cols, const float *x, const float *xs, float *y, int r0, int r1) {
  (void)xs;
  int nb = cols / 256;
  int8_t q[256];
  for (int r = r0; r < r1; r++) {
    const uint8_t *p = wb + (size_t)r * nb * 210;
    __m512 acc = _mm512_setzero_ps();
    for (int b = 0; b < nb; b++, p += 210) {
      q6k_unpack_avx2(p, q);
      const int8_t *sc = (const int8_t *)(p + 192);
      const float *xb = x + b * 256;
      __m512 s0 = _mm512_setzero_ps(), s1 = s0;
      for (int g = 0; g < 16; g += 2) {
        s0 = _mm512_fmadd_ps(_mm512_mul_ps(ld_s8x16(q + 16 * g), _mm512_set1_ps((float)sc[g])), _mm512_loadu_ps(xb + 16 * g), s0);
        s1 = _mm512_fmadd_ps(_mm512_mul_ps(ld_s8x16(q + 16 * g + 16), _mm512_set1_ps((float)sc[g + 1])), _mm512_loadu_ps(xb + 16 * g + 16), s1);
      }
      acc = _mm512_fmadd_ps(_mm512_set1_ps(_cvtsh_ss(rd16(p + 208))), _mm512_add_ps(s0, s1), acc);
    }
    y[r] = _mm512_reduce_add_ps(acc);
  }
}
#endif

// ---------------------------------------------------------------------------------------------
// Dispatch (from matvec.c)

kq_fn vb__matvec_pick_kquant(int level, int type) {
  int q4k = type == T_Q4_K;
  if (!q4k && type != T_Q6_K) return 0;
  switch (level) {
#ifdef VB_X86
    case L_AVX512: return q4k ? avx512_q4k : avx512_q6k;
    case L_AVX2: return q4k ? avx2_q4k : avx2_q6k;
#endif
    case L_C: return q4k ? c_q4k : c_q6k;
  }
  return 0;
}
