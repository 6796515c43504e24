// libFuzzer target for medo_apply_delta (native/medo_core.c), git's delta decoder.
//
// Input: [u32 LE base length][base][delta], the delta with its two size headers as in a pack. The
// headers are read as lib/git/delta.ts reads them, and the result buffer has the declared result size,
// as applyDelta gives it. The declared base size is not held to the base's length (applyDelta refuses a
// mismatch before the native call): the decoder must stay inside its buffers whatever the headers say.
//
// Properties: the status is 0 or one of the documented failures, it is the status of the small
// reference decoder below, and on 0 the result is the reference's byte for byte.
#include "harness.h"
#include "medo_core.h"

// Results above this are skipped: the caller's limit is far larger, but a few MiB already reach every
// branch, and a run should spend its time on inputs rather than on memcpy.
#define MAX_RESULT (4u << 20)

// git's size header: 7 bits a byte, least significant first. 0 when truncated or over 53 bits (the
// JavaScript reader's Number.MAX_SAFE_INTEGER), as deltaSizes throws then.
static int read_size(const uint8_t* d, size_t n, size_t* at, uint64_t* v) {
  uint64_t value = 0;
  for (unsigned shift = 0;; shift += 7) {
    if (*at >= n || shift > 56) return 0;
    uint8_t c = d[(*at)++];
    value |= (uint64_t)(c & 0x7f) << shift;
    if (value > ((uint64_t)1 << 53) - 1) return 0;
    if (!(c & 0x80)) break;
  }
  *v = value;
  return 1;
}

// The reference: the format as gitformat-pack words it, one instruction byte and its fields at a time,
// with indices rather than pointers. Returns the status medo_apply_delta documents.
static int64_t reference_apply(const uint8_t* base, size_t base_len, const uint8_t* d, size_t n, uint8_t* out, size_t out_len) {
  size_t i = 0, o = 0;
  while (i < n) {
    unsigned op = d[i++];
    if (op == 0) return MEDO_DELTA_RESERVED_OP;
    if (!(op & 0x80)) {
      if (n - i < op) return MEDO_DELTA_TRUNCATED_INSERT;
      if (out_len - o < op) return MEDO_DELTA_INSERT_PAST_RESULT;
      memcpy(out + o, d + i, op);
      i += op;
      o += op;
      continue;
    }
    // Bits 0-3: offset bytes, bits 4-6: size bytes, little-endian; an absent byte is zero.
    uint64_t field[2] = {0, 0};
    for (unsigned bit = 0; bit < 7; bit++) {
      if (!(op & (1u << bit))) continue;
      if (i == n) return MEDO_DELTA_TRUNCATED_COPY;
      unsigned which = bit < 4 ? 0 : 1, byte = bit < 4 ? bit : bit - 4;
      field[which] |= (uint64_t)d[i++] << (8 * byte);
    }
    uint64_t off = field[0], len = field[1] == 0 ? 0x10000 : field[1];
    if (off + len > base_len) return MEDO_DELTA_COPY_PAST_BASE;
    if (len > out_len - o) return MEDO_DELTA_COPY_PAST_RESULT;
    memcpy(out + o, base + off, len);
    o += len;
  }
  return o == out_len ? 0 : MEDO_DELTA_RESULT_SHORT;
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pair_t p;
  if (!split_pair(data, size, &p)) return 0;
  size_t at = 0;
  uint64_t base_size, result_size;
  if (!read_size(p.b, p.b_len, &at, &base_size) || !read_size(p.b, p.b_len, &at, &result_size)) return 0;
  (void)base_size;
  if (result_size > MAX_RESULT) return 0;

  uint8_t* base = exact_copy(p.a, p.a_len);
  // The instructions alone, in a block of their own size: a read past the delta's end is caught.
  size_t n = p.b_len - at;
  uint8_t* delta = malloc(n ? n : 1);
  uint8_t* out = result_size ? malloc(result_size) : NULL;
  uint8_t* want = malloc(result_size ? result_size : 1);
  if (delta == NULL || want == NULL || (result_size && out == NULL)) abort();
  memcpy(delta, p.b + at, n);

  int64_t status = medo_apply_delta(base, p.a_len, delta, delta + n, out, result_size);
  CHECK(status <= 0 && status >= MEDO_DELTA_RESULT_SHORT);
  int64_t expected = reference_apply(base, p.a_len, delta, n, want, result_size);
  CHECK(status == expected);
  if (status == 0 && result_size > 0) {
    if (selftest) want[result_size - 1] ^= 1;
    CHECK(memcmp(out, want, result_size) == 0);
  }
  free(base);
  free(delta);
  free(out);
  free(want);
  return 0;
}
