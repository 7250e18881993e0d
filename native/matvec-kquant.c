// matvec-kquant.c: the Q4_K and Q6_K mat-vec kernels (256-value super-blocks, layouts as src/gguf/dequant.ts decodes them), plain C / AVX2 / AVX-512.
//
// Q4_K (144 bytes): f16 d, f16 dmin, 12 bytes of 6-bit scales s[8] / mins m[8], 128 bytes of nibbles;
// value of group g (32 values) = d*s[g]*q - dmin*m[g]. The kernels sum d*s[g] * sum(q x) over the
// groups and, apart, dmin*m[g] * X[g], with X[g] = the sum of x over the group computed once per call
// by the dispatcher (xs). d*s[g] and dmin*m[g] are exact in float32 (11 x 6 bits), so this is the
// dequantized row's dot product up to rounding order; the error bound counts |d*s*q| + |dmin*m|
// per weight (the two sums may cancel), see test/neural/native-matvec.test.ts.
// Q6_K (210 bytes): 128 bytes ql (low nibbles), 64 bytes qh (2 high bits), 16 int8 scales, f16 d;
// value e = d * sc[e/16] * (q6 - 32); the kernels form (d*sc) * q in float32 as the dequantization
// does (d*sc is exact), so they dot the very same weights. The SIMD kernels unpack a super-block's
// quants to bytes in a stack buffer with 256-bit byte operations, then widen them from memory 8 or
// 16 at a time; the per-group scales are stored once per super-block and broadcast from memory.

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
      const float *xb = x + b * 256, d = h2f(rd16(p + 208));
      float a[8] = {0};
      for (int g = 0; g < 16; g++) {
        float ds = d * (float)sc[g];  // exact; ds * q is the dequantized weight
        for (int k = 0; k < 16; k += 8)
          for (int i = 0; i < 8; i++) a[i] += (ds * (float)q[16 * g + k + i]) * xb[16 * g + k + i];
      }
      acc += ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
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

/** Q4_K's 12 scale bytes at p -> (s[0..7] as floats, m[0..7] as floats): the 6-bit fields unpacked four at a time in 32-bit words. */
AVX2 static inline void q4k_scales_avx2(const uint8_t *p, __m256 *s, __m256 *m) {
  uint32_t a, b, c;
  memcpy(&a, p, 4);
  memcpy(&b, p + 4, 4);
  memcpy(&c, p + 8, 4);
  // Bytes 0-3: s[0..3] = low 6 bits of a; bytes 4-7: s[4..7] = low nibbles of c | top 2 bits of a
  // at bits 4-5; bytes 8-15 the same for m from b and the high nibbles of c.
  __m128i v = _mm_set_epi32((int)(((c >> 4) & 0x0f0f0f0fu) | ((b >> 2) & 0x30303030u)), (int)(b & 0x3f3f3f3fu),
                            (int)((c & 0x0f0f0f0fu) | ((a >> 2) & 0x30303030u)), (int)(a & 0x3f3f3f3fu));
  *s = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(v));
  *m = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(v, 8)));
}

/**
 * One Q4_K super-block at p, for both vector kernels: d*s[g] into ds (exact), the quants into u, and
 * macc plus dmin * m[g] * (sum of x over group g, from xs8) returned.
 */
AVX2 static inline __m256 q4k_block_avx2(const uint8_t *p, const float *xs8, float *ds, uint8_t *u, __m256 macc) {
  __m256 s, m;
  q4k_scales_avx2(p + 4, &s, &m);
  _mm256_store_ps(ds, _mm256_mul_ps(_mm256_set1_ps(_cvtsh_ss(rd16(p))), s));
  q4k_unpack_avx2(p + 16, u);
  return _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(rd16(p + 2))), _mm256_mul_ps(m, _mm256_loadu_ps(xs8)), macc);
}

// ---------------------------------------------------------------------------------------------
// AVX2 + FMA + F16C

AVX2 static inline __m256 ld_u8x8(const uint8_t *p) { return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p))); }
AVX2 static inline __m256 ld_s8x8(const int8_t *p) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p))); }

AVX2 static void avx2_q4k(const uint8_t *wb, int cols, const float *x, const float *xs, float *y, int r0, int r1) {
  int nb = cols / 256;
  uint8_t u[256];
  float ds[8] __attribute__((aligned(32)));
  for (int r = r0; r < r1; r++) {
    const uint8_t *p = wb + (size_t)r * nb * 144;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, macc = acc0;
    for (int b = 0; b < nb; b++, p += 144) {
      macc = q4k_block_avx2(p, xs + 8 * b, ds, u, macc);
      const float *xb = x + b * 256;
      for (int g = 0; g < 8; g += 2) {
        const uint8_t *ug = u + 32 * g;
        const float *xg = xb + 32 * g;
        __m256 t0 = _mm256_fmadd_ps(ld_u8x8(ug + 8), _mm256_loadu_ps(xg + 8), _mm256_mul_ps(ld_u8x8(ug), _mm256_loadu_ps(xg)));
        __m256 t1 = _mm256_fmadd_ps(ld_u8x8(ug + 24), _mm256_loadu_ps(xg + 24), _mm256_mul_ps(ld_u8x8(ug + 16), _mm256_loadu_ps(xg + 16)));
        __m256 t2 = _mm256_fmadd_ps(ld_u8x8(ug + 40), _mm256_loadu_ps(xg + 40), _mm256_mul_ps(ld_u8x8(ug + 32), _mm256_loadu_ps(xg + 32)));
        __m256 t3 = _mm256_fmadd_ps(ld_u8x8(ug + 56), _mm256_loadu_ps(xg + 56), _mm256_mul_ps(ld_u8x8(ug + 48), _mm256_loadu_ps(xg + 48)));
        acc0 = _mm256_fmadd_ps(_mm256_broadcast_ss(ds + g), _mm256_add_ps(t0, t1), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_broadcast_ss(ds + g + 1), _mm256_add_ps(t2, t3), acc1);
      }
    }
    y[r] = hsum8(_mm256_add_ps(acc0, acc1)) - hsum8(macc);
  }
}

/** Q6_K: d * the 16 int8 scales at p + 192 (exact in float32: 11 x 8 bits) into ds. */
AVX2 static inline void q6k_scales_avx2(const uint8_t *p, float *ds) {
  __m128i sc = _mm_loadu_si128((const __m128i *)(p + 192));
  __m256 d = _mm256_set1_ps(_cvtsh_ss(rd16(p + 208)));
  _mm256_store_ps(ds, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(sc))));
  _mm256_store_ps(ds + 8, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(sc, 8)))));
}

AVX2 static void avx2_q6k(const uint8_t *wb, int cols, const float *x, const float *xs, float *y, int r0, int r1) {
  (void)xs;
  int nb = cols / 256;
  int8_t q[256];
  float ds[16] __attribute__((aligned(32)));
  for (int r = r0; r < r1; r++) {
    const uint8_t *p = wb + (size_t)r * nb * 210;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int b = 0; b < nb; b++, p += 210) {
      q6k_unpack_avx2(p, q);
      q6k_scales_avx2(p, ds);
      const float *xb = x + b * 256;
      // (d*sc) * q rounds once, as the dequantized value does: the weights are the reference's, bit for bit.
      for (int g = 0; g < 16; g += 2) {
        __m256 s0 = _mm256_broadcast_ss(ds + g), s1 = _mm256_broadcast_ss(ds + g + 1);
        a0 = _mm256_fmadd_ps(_mm256_mul_ps(ld_s8x8(q + 16 * g), s0), _mm256_loadu_ps(xb + 16 * g), a0);
        a1 = _mm256_fmadd_ps(_mm256_mul_ps(ld_s8x8(q + 16 * g + 8), s0), _mm256_loadu_ps(xb + 16 * g + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_mul_ps(ld_s8x8(q + 16 * g + 16), s1), _mm256_loadu_ps(xb + 16 * g + 16), a2);
        a3 = _mm256_fmadd_ps(_mm256_mul_ps(ld_s8x8(q + 16 * g + 24), s1), _mm256_loadu_ps(xb + 16 * g + 24), a3);
      }
    }
    y[r] = hsum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  }
}

// ---------------------------------------------------------------------------------------------
// AVX-512 (F + BW + VL; F16C/FMA for the scalar parts)

AVX512 static inline __m512 ld_u8x16(const uint8_t *p) { return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)p))); }
AVX512 static inline __m512 ld_s8x16(const int8_t *p) { return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)p))); }

AVX512 static void avx512_q4k(const uint8_t *wb, int cols, const float *x, const float *xs, float *y, int r0, int r1) {
  int nb = cols / 256;
  uint8_t u[256];
  float ds[8] __attribute__((aligned(32)));
  for (int r = r0; r < r1; r++) {
    const uint8_t *p = wb + (size_t)r * nb * 144;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0;
    __m256 macc = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++, p += 144) {
      macc = q4k_block_avx2(p, xs + 8 * b, ds, u, macc);
      const float *xb = x + b * 256;
      for (int g = 0; g < 8; g += 2) {
        const uint8_t *ug = u + 32 * g;
        const float *xg = xb + 32 * g;
        __m512 t0 = _mm512_fmadd_ps(ld_u8x16(ug + 16), _mm512_loadu_ps(xg + 16), _mm512_mul_ps(ld_u8x16(ug), _mm512_loadu_ps(xg)));
        __m512 t1 = _mm512_fmadd_ps(ld_u8x16(ug + 48), _mm512_loadu_ps(xg + 48), _mm512_mul_ps(ld_u8x16(ug + 32), _mm512_loadu_ps(xg + 32)));
        acc0 = _mm512_fmadd_ps(_mm512_set1_ps(ds[g]), t0, acc0);
        acc1 = _mm512_fmadd_ps(_mm512_set1_ps(ds[g + 1]), t1, acc1);
      }
    }
    y[r] = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)) - hsum8(macc);
  }
}

AVX512 static void avx512_q6k(const uint8_t *wb, int cols, const float *x, const float *xs, float *y, int r0, int r1) {
  (void)xs;
  int nb = cols / 256;
  int8_t q[256];
  float ds[16] __attribute__((aligned(32)));
  for (int r = r0; r < r1; r++) {
    const uint8_t *p = wb + (size_t)r * nb * 210;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int b = 0; b < nb; b++, p += 210) {
      q6k_unpack_avx2(p, q);
      q6k_scales_avx2(p, ds);
      const float *xb = x + b * 256;
      for (int g = 0; g < 16; g += 4) {  // one scale per 16 lanes
        a0 = _mm512_fmadd_ps(_mm512_mul_ps(ld_s8x16(q + 16 * g), _mm512_set1_ps(ds[g])), _mm512_loadu_ps(xb + 16 * g), a0);
        a1 = _mm512_fmadd_ps(_mm512_mul_ps(ld_s8x16(q + 16 * g + 16), _mm512_set1_ps(ds[g + 1])), _mm512_loadu_ps(xb + 16 * g + 16), a1);
        a2 = _mm512_fmadd_ps(_mm512_mul_ps(ld_s8x16(q + 16 * g + 32), _mm512_set1_ps(ds[g + 2])), _mm512_loadu_ps(xb + 16 * g + 32), a2);
        a3 = _mm512_fmadd_ps(_mm512_mul_ps(ld_s8x16(q + 16 * g + 48), _mm512_set1_ps(ds[g + 3])), _mm512_loadu_ps(xb + 16 * g + 48), a3);
      }
    }
    y[r] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
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
