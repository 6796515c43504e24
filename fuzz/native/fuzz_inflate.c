// libFuzzer target for medo_inflate_exact (native/medo_core.c), the inflate of every pack entry.
//
// Input: [mode][u32 LE size][bytes]. The z_stream is kept across inputs and reset between them, as the
// addon keeps one per thread. Modes (mode & 3):
//   0  bytes are a zlib stream (a real object's, as seeded) inflated into `size` bytes;
//   1  the same into what zlib says the stream holds, give or take a byte (mode >> 2 picks which), so
//      mutated streams are tried at the sizes where the statuses turn;
//   2, 3  bytes are data: deflated by zlib at level (mode >> 2) % 10, then inflated into its size, one
//      byte less and one more, and cut short at `size` % its length. Each status is then known exactly.
//
// Properties: nothing is written past dst (guard bytes after it: zlib itself is not instrumented); the
// status is a byte count or one of the documented failures; and it agrees with zlib's uncompress2 of
// the same input: on success the same bytes and input length, "too short", "too long" and "short input"
// where uncompress2 finds less, more, or runs out of input.
#include "harness.h"
#include "medo_core.h"

// Sizes above this are cut down to it: the caller's limit is far larger, but the statuses turn at a
// stream's end, not at its size.
#define MAX_OUT (1u << 20)
#define GUARD 64

static z_stream stream;
static int stream_ready;

static int64_t inflate_once(const uint8_t* src, size_t src_len, uint8_t* dst, size_t dst_len) {
  if (!stream_ready) {
    if (inflateInit(&stream) != Z_OK) abort();
    stream_ready = 1;
  } else {
    inflateReset(&stream);
  }
  return medo_inflate_exact(&stream, src, src_len, dst, dst_len);
}

// medo_inflate_exact into a fresh block of dst_len bytes and GUARD guard bytes; the result (when it
// fits) is copied to `out`.
static int64_t inflate_guarded(const uint8_t* src, size_t src_len, size_t dst_len, uint8_t* out) {
  uint8_t* block = malloc(dst_len + GUARD);
  if (block == NULL) abort();
  memset(block + dst_len, 0xa5, GUARD);
  int64_t status = inflate_once(src, src_len, dst_len ? block : NULL, dst_len);
  for (size_t k = 0; k < GUARD; k++) CHECK(block[dst_len + k] == 0xa5);
  CHECK(status >= MEDO_INFLATE_BAD_DATA && (status < 0 || (uint64_t)status <= src_len));
  if (out != NULL) memcpy(out, block, dst_len);
  free(block);
  return status;
}

typedef struct {
  int err;          // uncompress2's return
  size_t out_len;   // bytes it produced, into room for dst_len + 1
  size_t used;      // input bytes it took
  uint8_t* out;
} reference_t;

static void reference(const uint8_t* src, size_t src_len, size_t dst_len, reference_t* r) {
  r->out = malloc(dst_len + 1);
  if (r->out == NULL) abort();
  uLongf out_len = dst_len + 1;
  uLong used = src_len;
  static const uint8_t none;
  r->err = uncompress2(r->out, &out_len, src_len ? src : &none, &used);
  r->out_len = out_len;
  r->used = used;
}

// A stream's status against zlib's own reading of it.
static void check_against_zlib(const uint8_t* src, size_t src_len, size_t dst_len) {
  reference_t r;
  reference(src, src_len, dst_len, &r);
  uint8_t* got = malloc(dst_len ? dst_len : 1);
  if (got == NULL) abort();
  int64_t status = inflate_guarded(src, src_len, dst_len, got);
  if (selftest && r.out_len > 0) r.out[0] ^= 1;
  size_t common = r.out_len < dst_len ? r.out_len : dst_len;
  switch (status) {
    case MEDO_INFLATE_TOO_SHORT:
      CHECK(r.err == Z_OK && r.out_len < dst_len);
      CHECK(memcmp(got, r.out, common) == 0);
      break;
    case MEDO_INFLATE_TOO_LONG:
      CHECK(r.out_len == dst_len + 1);
      CHECK(memcmp(got, r.out, common) == 0);
      break;
    case MEDO_INFLATE_SHORT_INPUT:
      // uncompress2 says Z_DATA_ERROR when the input runs out with room left, Z_BUF_ERROR without.
      CHECK((r.err == Z_DATA_ERROR || r.err == Z_BUF_ERROR) && r.out_len <= dst_len && r.used == src_len);
      break;
    case MEDO_INFLATE_BAD_DATA:
      CHECK(r.err == Z_DATA_ERROR && r.out_len <= dst_len);
      break;
    default:
      CHECK(status >= 0);
      CHECK(r.err == Z_OK && r.out_len == dst_len && r.used == (size_t)status);
      CHECK(memcmp(got, r.out, dst_len) == 0);
  }
  free(got);
  free(r.out);
}

// Data deflated by zlib: every status is known in advance.
static void check_deflated(const uint8_t* data, size_t len, int level, uint32_t cut) {
  uLongf z_len = compressBound(len);
  uint8_t* z = malloc(z_len);
  uint8_t* got = malloc(len + 1);
  if (z == NULL || got == NULL) abort();
  CHECK(compress2(z, &z_len, len ? data : z, len, level) == Z_OK);
  int64_t status = inflate_guarded(z, z_len, len, got);
  CHECK(status == (int64_t)z_len);
  if (selftest && len > 0) got[0] ^= 1;
  CHECK(len == 0 || memcmp(got, data, len) == 0);
  if (len > 0) CHECK(inflate_guarded(z, z_len, len - 1, NULL) == MEDO_INFLATE_TOO_LONG);
  CHECK(inflate_guarded(z, z_len, len + 1, NULL) == MEDO_INFLATE_TOO_SHORT);
  CHECK(inflate_guarded(z, cut % z_len, len, NULL) == MEDO_INFLATE_SHORT_INPUT);
  free(z);
  free(got);
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 5) return 0;
  unsigned mode = data[0];
  uint32_t word = read_u32le(data + 1);
  size_t len = size - 5;
  uint8_t* bytes = exact_copy(data + 5, len);
  if ((mode & 3) == 0) {
    check_against_zlib(bytes, len, word % (MAX_OUT + 1));
  } else if ((mode & 3) == 1) {
    reference_t r;
    reference(bytes, len, MAX_OUT, &r);
    free(r.out);
    size_t near = r.out_len + (mode >> 2) % 3;
    check_against_zlib(bytes, len, near > 0 ? near - 1 : 0);
  } else {
    check_deflated(bytes, len, (int)((mode >> 2) % 10), word);
  }
  free(bytes);
  return 0;
}
