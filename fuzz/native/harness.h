// What the libFuzzer targets in this directory share: a property check that stops the run (libFuzzer
// then keeps the input as a crash file), the input framing, and the self-test switch.
#ifndef MEDO_FUZZ_HARNESS_H
#define MEDO_FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// A property that does not hold is a finding like a sanitizer report: abort, so libFuzzer records it.
#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      fprintf(stderr, "property failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);   \
      abort();                                                                       \
    }                                                                                \
  } while (0)

// MEDO_FUZZ_SELFTEST=1 spoils each target's reference on purpose, so run.sh can show that the
// comparisons really run: every target must then fail on its seeds.
static int selftest;

static inline void read_selftest(void) {
  const char* v = getenv("MEDO_FUZZ_SELFTEST");
  selftest = v != NULL && v[0] == '1';
}

// Each target is its own program, built from one .c file that includes this header once.
int LLVMFuzzerInitialize(int* argc, char*** argv) {
  (void)argc;
  (void)argv;
  read_selftest();
  return 0;
}

static inline uint32_t read_u32le(const uint8_t* p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

// Two byte strings framed as [u32 LE length of the first][first][second]; the length is cut to what is
// there, so every input splits somehow.
typedef struct {
  const uint8_t* a;
  size_t a_len;
  const uint8_t* b;
  size_t b_len;
} pair_t;

static inline int split_pair(const uint8_t* data, size_t size, pair_t* p) {
  if (size < 4) return 0;
  size_t n = read_u32le(data);
  size -= 4;
  if (n > size) n = size;
  p->a = data + 4;
  p->a_len = n;
  p->b = data + 4 + n;
  p->b_len = size - n;
  return 1;
}

// A copy in a heap block of exactly `len` bytes, so that AddressSanitizer sees any read past its end
// (libFuzzer's own buffer holds both halves of a pair back to back). An empty one is NULL, as an empty
// typed array's storage may be under N-API.
static inline uint8_t* exact_copy(const uint8_t* p, size_t len) {
  if (len == 0) return NULL;
  uint8_t* c = malloc(len);
  if (c == NULL) abort();
  memcpy(c, p, len);
  return c;
}

#endif
