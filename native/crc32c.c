// CRC32C (Castagnoli) for the journal: the SSE4.2 crc32 instruction when the CPU has it, else a table.
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define POLY 0x82f63b78u

static uint32_t table[256];

// Built when the library is loaded (about 2,000 shifts), before any thread can call the CRC: no
// lazy initialisation racing between threads.
__attribute__((constructor)) static void build_table(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t v = i;
    for (int k = 0; k < 8; k++) v = (v & 1) ? (v >> 1) ^ POLY : v >> 1;
    table[i] = v;
  }
}

static uint32_t crc_table(uint32_t c, const uint8_t *p, size_t n) {
  while (n--) c = table[(c ^ *p++) & 0xff] ^ (c >> 8);
  return c;
}

__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t c, const uint8_t *p, size_t n) {
  uint64_t c64 = c;
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    c64 = __builtin_ia32_crc32di(c64, w);
    p += 8;
    n -= 8;
  }
  c = (uint32_t)c64;
  while (n--) c = __builtin_ia32_crc32qi(c, *p++);
  return c;
}

// 1 when the hardware instruction is used.
int vb_crc32c_hw(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2") ? 1 : 0;
}

// Continues a CRC32C over bytes [start, end) of `buf` (the same contract as src/journal/crc32c.ts:
// start with crc = 0; the pre/post inversion is done here). `hw` is vb_crc32c_hw()'s answer.
uint32_t vb_crc32c_update(uint32_t crc, const uint8_t *buf, int32_t start, int32_t end, int32_t hw) {
  uint32_t c = ~crc;
  if (end > start) c = hw ? crc_hw(c, buf + start, (size_t)(end - start)) : crc_table(c, buf + start, (size_t)(end - start));
  return ~c;
}
