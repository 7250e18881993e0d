// C reference for bench/matvec.bench.ts: single-threaded y = W x over ggml bytes, and streaming-read bandwidth.
// Uses AVX2/F16C intrinsics when -march=native has them (plain C otherwise).
// Build: gcc -O3 -march=native -o matvec bench/c/matvec.c
// Usage: matvec TYPE ROWS COLS ITERS WFILE XFILE   (TYPE: F32 F16 BF16 Q8_0 Q4_0 Q4_K Q6_K)
//        matvec stream MIB ITERS
// Prints one line: "gbps=<weights GB/s, best run> sum=<sum of y>" or "gbps=<read GB/s, best run>".
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__F16C__) || defined(__AVX2__)
#include <immintrin.h>
#endif

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); exit(1); }
  fseek(f, 0, SEEK_END);
  *len = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  void *p = aligned_alloc(64, (*len + 63) & ~(size_t)63);
  if (fread(p, 1, *len, f) != *len) { perror("fread"); exit(1); }
  fclose(f);
  return p;
}

#ifdef __F16C__
static inline float h2f(uint16_t h) { return _cvtsh_ss(h); }
#else
static inline float h2f(uint16_t h) { _Float16 v; memcpy(&v, &h, 2); return (float)v; }
#endif
static inline float bf2f(uint16_t h) { uint32_t u = (uint32_t)h << 16; float f; memcpy(&f, &u, 4); return f; }

static void mv_f32(const float *w, const float *x, float *y, int rows, int cols) {
  for (int r = 0; r < rows; r++) {
    const float *row = w + (size_t)r * cols;
    float acc[16] = {0};
    int j = 0;
    for (; j + 16 <= cols; j += 16)
      for (int k = 0; k < 16; k++) acc[k] += row[j + k] * x[j + k];
    float s = 0;
    for (int k = 0; k < 16; k++) s += acc[k];
    for (; j < cols; j++) s += row[j] * x[j];
    y[r] = s;
  }
}

static void mv_half(const uint16_t *w, const float *x, float *y, int rows, int cols, int bf) {
  for (int r = 0; r < rows; r++) {
    const uint16_t *row = w + (size_t)r * cols;
    float acc[16] = {0};
    int j = 0;
    if (bf) {
      for (; j + 16 <= cols; j += 16)
        for (int k = 0; k < 16; k++) acc[k] += bf2f(row[j + k]) * x[j + k];
    } else {
#ifdef __F16C__
      __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
      for (; j + 16 <= cols; j += 16) {
        __m256 w0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + j)));
        __m256 w1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + j + 8)));
        a0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + j), a0);
        a1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + j + 8), a1);
      }
      _mm256_storeu_ps(acc, a0);
      _mm256_storeu_ps(acc + 8, a1);
#else
      for (; j + 16 <= cols; j += 16)
        for (int k = 0; k < 16; k++) acc[k] += h2f(row[j + k]) * x[j + k];
#endif
    }
    float s = 0;
    for (int k = 0; k < 16; k++) s += acc[k];
    for (; j < cols; j++) s += (bf ? bf2f(row[j]) : h2f(row[j])) * x[j];
    y[r] = s;
  }
}

__attribute__((unused)) static void mv_q8_ref(const uint8_t *w, const float *x, float *y, int rows, int cols) {
  int nb = cols / 32;
  for (int r = 0; r < rows; r++) {
    const uint8_t *p = w + (size_t)r * nb * 34;
    float acc = 0;
    for (int b = 0; b < nb; b++, p += 34) {
      uint16_t dh; memcpy(&dh, p, 2);
      const int8_t *q = (const int8_t *)(p + 2);
      const float *xb = x + b * 32;
      float s[8] = {0};
      for (int k = 0; k < 32; k += 8)
        for (int i = 0; i < 8; i++) s[i] += q[k + i] * xb[k + i];
      float t = 0;
      for (int i = 0; i < 8; i++) t += s[i];
      acc += h2f(dh) * t;
    }
    y[r] = acc;
  }
}

__attribute__((unused)) static void mv_q4_ref(const uint8_t *w, const float *x, float *y, int rows, int cols) {
  int nb = cols / 32;
  for (int r = 0; r < rows; r++) {
    const uint8_t *p = w + (size_t)r * nb * 18;
    float acc = 0;
    for (int b = 0; b < nb; b++, p += 18) {
      uint16_t dh; memcpy(&dh, p, 2);
      const uint8_t *q = p + 2;
      const float *xb = x + b * 32;
      float s[16] = {0};
      for (int i = 0; i < 16; i++) s[i] = ((q[i] & 15) - 8) * xb[i] + ((q[i] >> 4) - 8) * xb[i + 16];
      float t = 0;
      for (int i = 0; i < 16; i++) t += s[i];
      acc += h2f(dh) * t;
    }
    y[r] = acc;
  }
}

#ifdef __AVX2__
static inline float hsum(__m256 v) {
  __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  a = _mm_add_ps(a, _mm_movehl_ps(a, a));
  a = _mm_add_ss(a, _mm_movehdup_ps(a));
  return _mm_cvtss_f32(a);
}
static inline __m256 i8x8(const void *p) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p))); }

static void mv_q8_avx2(const uint8_t *w, const float *x, float *y, int rows, int cols) {
  int nb = cols / 32;
  for (int r = 0; r < rows; r++) {
    const uint8_t *p = w + (size_t)r * nb * 34;
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++, p += 34) {
      uint16_t dh; memcpy(&dh, p, 2);
      const float *xb = x + b * 32;
      __m256 s = _mm256_mul_ps(i8x8(p + 2), _mm256_loadu_ps(xb));
      s = _mm256_fmadd_ps(i8x8(p + 10), _mm256_loadu_ps(xb + 8), s);
      s = _mm256_fmadd_ps(i8x8(p + 18), _mm256_loadu_ps(xb + 16), s);
      s = _mm256_fmadd_ps(i8x8(p + 26), _mm256_loadu_ps(xb + 24), s);
      acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(dh)), s, acc);
    }
    y[r] = hsum(acc);
  }
}

static void mv_q4_avx2(const uint8_t *w, const float *x, float *y, int rows, int cols) {
  int nb = cols / 32;
  const __m128i m4 = _mm_set1_epi8(15), e8 = _mm_set1_epi8(8);
  for (int r = 0; r < rows; r++) {
    const uint8_t *p = w + (size_t)r * nb * 18;
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++, p += 18) {
      uint16_t dh; memcpy(&dh, p, 2);
      const float *xb = x + b * 32;
      __m128i q = _mm_loadu_si128((const __m128i *)(p + 2));
      __m128i lo = _mm_sub_epi8(_mm_and_si128(q, m4), e8);
      __m128i hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(q, 4), m4), e8);
      __m256 s = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo)), _mm256_loadu_ps(xb));
      s = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8))), _mm256_loadu_ps(xb + 8), s);
      s = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi)), _mm256_loadu_ps(xb + 16), s);
      s = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8))), _mm256_loadu_ps(xb + 24), s);
      acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(dh)), s, acc);
    }
    y[r] = hsum(acc);
  }
}
#define mv_q8 mv_q8_avx2
#define mv_q4 mv_q4_avx2
#else
#define mv_q8 mv_q8_ref
#define mv_q4 mv_q4_ref
#endif

// k-quants: each 256-value super-block dequantized to floats (the layouts of ggml's dequantize_row_q4_K /
// q6_K) in loops of constant scale, then dotted with 16 accumulators; -O3 -march=native vectorizes both.
static inline float kdot(const float *restrict w, const float *restrict x) {
  float acc[16] = {0};
  for (int j = 0; j < 256; j += 16)
    for (int k = 0; k < 16; k++) acc[k] += w[j + k] * x[j + k];
  float s = 0;
  for (int k = 0; k < 16; k++) s += acc[k];
  return s;
}

static void mv_q4k(const uint8_t *w, const float *x, float *y, int rows, int cols) {
  int nb = cols / 256;
  float v[256];
  for (int r = 0; r < rows; r++) {
    const uint8_t *p = w + (size_t)r * nb * 144;
    float acc = 0;
    for (int b = 0; b < nb; b++, p += 144) {
      uint16_t dh, mh; memcpy(&dh, p, 2); memcpy(&mh, p + 2, 2);
      float d = h2f(dh), dmin = h2f(mh);
      const uint8_t *sc = p + 4, *q = p + 16;
      int s[8], m[8];
      for (int g = 0; g < 4; g++) {
        s[g] = sc[g] & 63;
        m[g] = sc[g + 4] & 63;
        s[g + 4] = (sc[g + 8] & 15) | ((sc[g] >> 6) << 4);
        m[g + 4] = (sc[g + 8] >> 4) | ((sc[g + 4] >> 6) << 4);
      }
      for (int j = 0; j < 4; j++) {
        float d1 = d * s[2 * j], m1 = dmin * m[2 * j], d2 = d * s[2 * j + 1], m2 = dmin * m[2 * j + 1];
        for (int l = 0; l < 32; l++) {
          v[64 * j + l] = d1 * (q[32 * j + l] & 15) - m1;
          v[64 * j + 32 + l] = d2 * (q[32 * j + l] >> 4) - m2;
        }
      }
      acc += kdot(v, x + b * 256);
    }
    y[r] = acc;
  }
}

static void mv_q6k(const uint8_t *w, const float *x, float *y, int rows, int cols) {
  int nb = cols / 256;
  float v[256];
  for (int r = 0; r < rows; r++) {
    const uint8_t *p = w + (size_t)r * nb * 210;
    float acc = 0;
    for (int b = 0; b < nb; b++, p += 210) {
      uint16_t dh; memcpy(&dh, p + 208, 2);
      float d = h2f(dh);
      const int8_t *sc = (const int8_t *)(p + 192);
      for (int h = 0; h < 2; h++)
        for (int i = 0; i < 2; i++) {
          const uint8_t *ql = p + 64 * h + 16 * i, *qh = p + 128 + 32 * h + 16 * i;
          const int8_t *sh = sc + 8 * h + i;
          float s1 = d * sh[0], s2 = d * sh[2], s3 = d * sh[4], s4 = d * sh[6];
          float *o = v + 128 * h + 16 * i;
          for (int l = 0; l < 16; l++) {
            o[l] = s1 * (((ql[l] & 15) | ((qh[l] & 3) << 4)) - 32);
            o[l + 32] = s2 * (((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32);
            o[l + 64] = s3 * (((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
            o[l + 96] = s4 * (((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
          }
        }
      acc += kdot(v, x + b * 256);
    }
    y[r] = acc;
  }
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "stream") == 0) {
    size_t n = (size_t)atol(argv[2]) << 20;
    int iters = atoi(argv[3]);
    uint64_t *buf = aligned_alloc(64, n);
    for (size_t i = 0; i < n / 8; i++) buf[i] = i * 2654435761u;
    double best = 1e9;
    uint64_t sink = 0;
    for (int it = 0; it < iters; it++) {
      double t0 = now();
      uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      for (size_t i = 0; i < n / 8; i += 4) { a0 += buf[i]; a1 += buf[i + 1]; a2 += buf[i + 2]; a3 += buf[i + 3]; }
      sink += a0 ^ a1 ^ a2 ^ a3;
      double t = now() - t0;
      if (t < best) best = t;
    }
    printf("gbps=%.3f sink=%llu\n", n / best / 1e9, (unsigned long long)(sink & 1));
    return 0;
  }
  if (argc != 7) { fprintf(stderr, "usage: matvec TYPE ROWS COLS ITERS WFILE XFILE | matvec stream MIB ITERS\n"); return 64; }
  const char *type = argv[1];
  int rows = atoi(argv[2]), cols = atoi(argv[3]), iters = atoi(argv[4]);
  size_t wlen, xlen;
  void *w = slurp(argv[5], &wlen);
  float *x = slurp(argv[6], &xlen);
  if (xlen != (size_t)cols * 4) { fprintf(stderr, "x has %zu bytes, expected %d\n", xlen, cols * 4); return 65; }
  float *y = calloc(rows, sizeof(float));
  double best = 1e9;
  for (int it = 0; it < iters; it++) {
    double t0 = now();
    if (!strcmp(type, "F32")) mv_f32(w, x, y, rows, cols);
    else if (!strcmp(type, "F16")) mv_half(w, x, y, rows, cols, 0);
    else if (!strcmp(type, "BF16")) mv_half(w, x, y, rows, cols, 1);
    else if (!strcmp(type, "Q8_0")) mv_q8(w, x, y, rows, cols);
    else if (!strcmp(type, "Q4_0")) mv_q4(w, x, y, rows, cols);
    else if (!strcmp(type, "Q4_K")) mv_q4k(w, x, y, rows, cols);
    else if (!strcmp(type, "Q6_K")) mv_q6k(w, x, y, rows, cols);
    else { fprintf(stderr, "unknown type %s\n", type); return 64; }
    double t = now() - t0;
    if (t < best) best = t;
  }
  double sum = 0;
  for (int r = 0; r < rows; r++) sum += y[r];
  printf("gbps=%.3f sum=%.6e\n", wlen / best / 1e9, sum);
  return 0;
}
