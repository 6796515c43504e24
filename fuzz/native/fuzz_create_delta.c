// libFuzzer target for the delta encoder, medo_delta_index + medo_create_delta (native/medo_core.c).
//
// Input: [u32 LE base length][base][target]. The top byte of the length word, which no base of this
// size needs, picks options: bit 0 indexes with the fewest buckets (4 bits), so chains grow long and the
// culling runs; bits 1-2 pick the room of a second encoding (see the end), and the whole byte scales it.
//
// Properties:
//  - the index has its documented shape: every block's hash beside its link, every chain ascending, of
//    blocks that hash to its bucket, and no longer than the culling allows;
//  - with room for inserting the whole target, the encoder never says the delta does not fit;
//  - its delta declares the base's and target's sizes, and medo_apply_delta turns the base into the
//    target with it, byte for byte;
//  - room changes only whether the delta fits, never what it is: with less room than its length it
//    does not fit, and where it fits it is the same bytes. (Room of exactly its length need not do:
//    the encoder gives up early when its pending literals would not fit, and a later match may have
//    taken them back; medo_core.h says so.)
//
// Built without libFuzzer's comparison tracing: the encoder's byte-matching loops call the tracer once per
// byte compared, which made this target seven times slower and found less in the same time.
// fuzz-cflags: -fno-sanitize-coverage=trace-cmp
#include "harness.h"
#include "medo_core.h"

// lib/git/delta-encode.ts: the index's bucket limit, and the bits it chooses for a base.
#define BUCKET_LIMIT 64
#define MAX_BITS 22

static int32_t bits_for(size_t base_len) {
  size_t blocks = base_len / MEDO_DELTA_WINDOW;
  int32_t bits = 4;
  while (bits < MAX_BITS && ((size_t)1 << bits) < blocks) bits++;
  return bits;
}

static size_t varint_len(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) v >>= 7, n++;
  return n;
}

static int read_varint(const uint8_t* d, size_t n, size_t* at, uint64_t* v) {
  uint64_t value = 0;
  for (unsigned shift = 0; shift <= 63; shift += 7) {
    if (*at >= n) return 0;
    uint8_t c = d[(*at)++];
    value |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) {
      *v = value;
      return 1;
    }
  }
  return 0;
}

// The polynomial hash and bucket of lib/git/delta-encode.ts, recomputed here to check the index.
static uint32_t block_hash(const uint8_t* p) {
  uint32_t h = 0;
  for (int k = 0; k < MEDO_DELTA_WINDOW; k++) h = h * 0x01000193u + p[k];
  return h;
}

static uint32_t block_bucket(const uint8_t* p, int32_t bits) {
  return (block_hash(p) * 0x9E3779B1u) >> (32 - bits);
}

static void check_index(const int32_t* index, const uint8_t* base, size_t base_len) {
  int32_t bits = index[0];
  size_t heads = (size_t)1 << bits, blocks = base_len / MEDO_DELTA_WINDOW;
  const int32_t* head = index + 1;
  const int32_t* ent = head + heads;
  for (size_t b = 0; b < blocks; b++) CHECK((uint32_t)ent[2 * b + 1] == block_hash(base + b * MEDO_DELTA_WINDOW));
  for (size_t k = 0; k < heads; k++) {
    size_t length = 0;
    int64_t prev = -1;
    for (int32_t e = head[k]; e >= 0; e = ent[2 * (size_t)e]) {
      CHECK((size_t)e < blocks && e > prev);
      CHECK(block_bucket(base + (size_t)e * MEDO_DELTA_WINDOW, bits) == k);
      prev = e;
      length++;
    }
    CHECK(length <= BUCKET_LIMIT);
  }
}

// Encodes into a fresh block of exactly `room` bytes (NULL when 0, as an empty typed array may be), so
// that a write past the room is caught; returns the length, or -1, with the bytes copied to `out`.
static int64_t encode(const int32_t* index, const uint8_t* base, size_t base_len, const uint8_t* t, size_t t_len, size_t room,
                      uint8_t* out) {
  uint8_t* dst = room ? malloc(room) : NULL;
  if (room && dst == NULL) abort();
  int64_t n = medo_create_delta(index, base, base_len, t, t_len, dst, room);
  CHECK(n == -1 || (n >= 0 && (uint64_t)n <= room));
  if (n > 0) memcpy(out, dst, (size_t)n);
  free(dst);
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  uint8_t options = data[3];
  size_t base_len = read_u32le(data) & 0xffffff, t_len;
  if (base_len > size - 4) base_len = size - 4;
  t_len = size - 4 - base_len;
  uint8_t* base = exact_copy(data + 4, base_len);
  uint8_t* target = exact_copy(data + 4 + base_len, t_len);

  int32_t bits = options & 1 ? 4 : bits_for(base_len);
  size_t index_len = medo_delta_index_len(bits, base_len);
  int32_t* index = malloc(index_len * sizeof(int32_t));
  if (index == NULL) abort();
  index[0] = bits;
  CHECK(medo_delta_index(base, base_len, index, index_len) == 0);
  check_index(index, base, base_len);

  // Inserting everything takes the headers, the target and one length byte per 127 bytes of it.
  size_t inserts = varint_len(base_len) + varint_len(t_len) + t_len + (t_len + 126) / 127;
  size_t room = inserts + 16;
  uint8_t* delta = malloc(room);
  uint8_t* again = malloc(room);
  uint8_t* result = malloc(t_len ? t_len : 1);
  if (delta == NULL || again == NULL || result == NULL) abort();
  int64_t n = encode(index, base, base_len, target, t_len, room, delta);
  CHECK(n >= 0);

  size_t at = 0;
  uint64_t declared_base, declared_result;
  CHECK(read_varint(delta, (size_t)n, &at, &declared_base) && declared_base == base_len);
  CHECK(read_varint(delta, (size_t)n, &at, &declared_result) && declared_result == t_len);
  CHECK(medo_apply_delta(base, base_len, delta + at, delta + n, t_len ? result : NULL, t_len) == 0);
  if (selftest && t_len > 0) result[0] ^= 1;
  CHECK(t_len == 0 || memcmp(result, target, t_len) == 0);

  // Once more, with room of exactly its length, one byte less, or a share of it picked by the input
  // (one encoding per input rather than three: the encoder is the slow part of this target).
  unsigned pick = options >> 1 & 3;
  size_t less = pick == 0 ? (size_t)n : pick == 1 ? (size_t)n - 1 : (size_t)n * options / 255;
  int64_t m = encode(index, base, base_len, target, t_len, less, again);
  if (less < (size_t)n) CHECK(m == -1);
  else CHECK(m == -1 || (m == n && memcmp(again, delta, (size_t)n) == 0));
  free(index);
  free(delta);
  free(again);
  free(result);
  free(base);
  free(target);
  return 0;
}
