// The pure C of medo's native helpers (medo_core.h says what each function promises), apart from the
// N-API glue in medo_native.c so that the fuzz targets in fuzz/native/ run the addon's own code.
#include "medo_core.h"

#include <stdlib.h>
#include <string.h>

int64_t medo_inflate_exact(z_stream* s, const unsigned char* src, size_t src_len, unsigned char* dst, size_t dst_len) {
  // zlib refuses a NULL buffer even of length 0, and an empty typed array may have no storage.
  static unsigned char empty;
  if (src == NULL) src = &empty;
  if (dst == NULL) dst = &empty;
  // zlib counts in uInt; objects over 4 GiB are refused by the caller's limits long before here.
  s->next_in = (unsigned char*)src;
  s->avail_in = (uInt)(src_len > 0xffffffffu ? 0xffffffffu : src_len);
  s->next_out = dst;
  s->avail_out = (uInt)dst_len;
  int ret = inflate(s, Z_FINISH);
  if (ret == Z_STREAM_END) return s->avail_out == 0 ? (int64_t)s->total_in : MEDO_INFLATE_TOO_SHORT;
  if (ret != Z_BUF_ERROR && ret != Z_OK) return MEDO_INFLATE_BAD_DATA;
  if (s->avail_out > 0) return MEDO_INFLATE_SHORT_INPUT;
  // dst is full but the stream did not end: either only its end marker and checksum remain, or it holds
  // more data. One spare byte of room tells them apart.
  unsigned char spare;
  s->next_out = &spare;
  s->avail_out = 1;
  ret = inflate(s, Z_FINISH);
  if (ret == Z_STREAM_END && s->avail_out == 1) return (int64_t)s->total_in;
  if (s->avail_out == 0) return MEDO_INFLATE_TOO_LONG;
  if (ret == Z_BUF_ERROR || ret == Z_OK) return MEDO_INFLATE_SHORT_INPUT;
  return MEDO_INFLATE_BAD_DATA;
}

int64_t medo_apply_delta(const unsigned char* base, size_t base_len, const unsigned char* d, const unsigned char* end,
                         unsigned char* out, size_t out_len) {
  // Even `out + 0` is undefined for a NULL out, and an empty typed array may have no storage.
  static unsigned char empty;
  if (base == NULL) base = &empty;
  if (out == NULL) out = &empty;
  unsigned char* o = out;
  unsigned char* oend = out + out_len;
  while (d < end) {
    unsigned char op = *d++;
    if (op & 0x80) {
      uint32_t off = 0;
      uint32_t len = 0;
      if (op & 0x01) { if (d >= end) return MEDO_DELTA_TRUNCATED_COPY; off = *d++; }
      if (op & 0x02) { if (d >= end) return MEDO_DELTA_TRUNCATED_COPY; off |= (uint32_t)*d++ << 8; }
      if (op & 0x04) { if (d >= end) return MEDO_DELTA_TRUNCATED_COPY; off |= (uint32_t)*d++ << 16; }
      if (op & 0x08) { if (d >= end) return MEDO_DELTA_TRUNCATED_COPY; off |= (uint32_t)*d++ << 24; }
      if (op & 0x10) { if (d >= end) return MEDO_DELTA_TRUNCATED_COPY; len = *d++; }
      if (op & 0x20) { if (d >= end) return MEDO_DELTA_TRUNCATED_COPY; len |= (uint32_t)*d++ << 8; }
      if (op & 0x40) { if (d >= end) return MEDO_DELTA_TRUNCATED_COPY; len |= (uint32_t)*d++ << 16; }
      if (len == 0) len = 0x10000;
      if ((uint64_t)off + len > base_len) return MEDO_DELTA_COPY_PAST_BASE;
      if (len > (size_t)(oend - o)) return MEDO_DELTA_COPY_PAST_RESULT;
      memcpy(o, base + off, len);
      o += len;
    } else if (op != 0) {
      if (op > (size_t)(end - d)) return MEDO_DELTA_TRUNCATED_INSERT;
      if (op > (size_t)(oend - o)) return MEDO_DELTA_INSERT_PAST_RESULT;
      memcpy(o, d, op);
      o += op;
      d += op;
    } else {
      return MEDO_DELTA_RESERVED_OP;
    }
  }
  return o == oend ? 0 : MEDO_DELTA_RESULT_SHORT;
}

// ---- delta encoder (layout and constants shared with lib/git/delta-encode.ts) ----
#define DELTA_WINDOW MEDO_DELTA_WINDOW
#define DELTA_PRIME 0x01000193u
#define DELTA_MIX 0x9E3779B1u
#define DELTA_BUCKET_LIMIT 64
#define DELTA_MIN_COPY 16
#define DELTA_LAZY_UNTIL 4096
#define DELTA_MIN_SPLIT 8
#define DELTA_MAX_COPY 0x10000
// delta_search passes over blocks of another hash: no match that short could be taken anyway.
_Static_assert(DELTA_MIN_COPY >= DELTA_WINDOW, "a copy is at least one window");

static uint32_t delta_prime_pow(void) {
  uint32_t p = 1;
  for (int k = 0; k < DELTA_WINDOW - 1; k++) p *= DELTA_PRIME;
  return p;
}

static uint32_t window_hash(const unsigned char* p) {
  uint32_t h = 0;
  for (int k = 0; k < DELTA_WINDOW; k++) h = h * DELTA_PRIME + p[k];
  return h;
}

static inline uint32_t bucket_of(uint32_t h, int32_t bits) {
  return (h * DELTA_MIX) >> (32 - bits);
}

size_t medo_delta_index_len(int32_t bits, size_t base_len) {
  return 1 + ((size_t)1 << bits) + 2 * (base_len / DELTA_WINDOW);
}

// index: [bits, heads[1 << bits], (next, hash)[blocks]]: entries are block numbers, -1 ends a chain; each
// block's window hash sits beside its link, so a lookup passes over the bucket's other hashes without
// touching the base (git keeps the hash in its index entries for the same reason).
int medo_delta_index(const unsigned char* base, size_t base_len, int32_t* index, size_t index_len) {
  int32_t bits = index[0];
  if (bits < 4 || bits > 24) return -1;
  size_t heads = (size_t)1 << bits;
  size_t blocks = base_len / DELTA_WINDOW;
  if (index_len != medo_delta_index_len(bits, base_len)) return -1;
  int32_t* head = index + 1;
  int32_t* ent = head + heads;
#define LINK(e) ent[2 * (size_t)(e)]
  for (size_t i = 0; i < heads; i++) head[i] = -1;
  uint32_t* count = (uint32_t*)calloc(heads, sizeof(uint32_t));
  if (count == NULL) return -2;
  uint32_t prev = 0;
  int have_prev = 0;
  // From the last block to the first, each pushed at the head of its chain: chains run in ascending
  // position. Of a run of identical blocks only the first (lowest) stays.
  for (size_t b = blocks; b-- > 0;) {
    uint32_t h = window_hash(base + b * DELTA_WINDOW);
    uint32_t k = bucket_of(h, bits);
    ent[2 * b + 1] = (int32_t)h;
    if (have_prev && h == prev && head[k] == (int32_t)(b + 1)) {
      LINK(b) = LINK(b + 1);
      head[k] = (int32_t)b;
      continue;
    }
    prev = h;
    have_prev = 1;
    LINK(b) = head[k];
    head[k] = (int32_t)b;
    count[k]++;
  }
  // A bucket over the limit keeps that many blocks spread evenly over its chain (git's culling in
  // create_delta_index), so a common block can still be matched anywhere in the base, not only near one end.
  for (size_t k = 0; k < heads; k++) {
    if (count[k] <= DELTA_BUCKET_LIMIT) continue;
    int64_t over = (int64_t)count[k] - DELTA_BUCKET_LIMIT, acc = 0;
    for (int32_t e = head[k]; e >= 0; e = LINK(e)) {
      acc += over;
      if (acc <= 0) continue;
      int32_t keep = e;
      do {
        e = LINK(e);
        acc -= DELTA_BUCKET_LIMIT;
      } while (acc > 0 && e >= 0);
      if (e < 0) {
        LINK(keep) = -1;
        break;
      }
      LINK(keep) = LINK(e);
    }
  }
  free(count);
#undef LINK
  return 0;
}

typedef struct {
  unsigned char* p;
  unsigned char* end;
} delta_out_t;

static inline int put_byte(delta_out_t* o, unsigned char c) {
  if (o->p >= o->end) return -1;
  *o->p++ = c;
  return 0;
}

static int put_varint(delta_out_t* o, uint64_t v) {
  while (v >= 0x80) {
    if (put_byte(o, (unsigned char)(v | 0x80))) return -1;
    v >>= 7;
  }
  return put_byte(o, (unsigned char)v);
}

static int put_inserts(delta_out_t* o, const unsigned char* data, size_t len) {
  while (len > 0) {
    size_t n = len > 127 ? 127 : len;
    if ((size_t)(o->end - o->p) < n + 1) return -1;
    *o->p++ = (unsigned char)n;
    memcpy(o->p, data, n);
    o->p += n;
    data += n;
    len -= n;
  }
  return 0;
}

static int put_copies(delta_out_t* o, uint32_t off, size_t len) {
  while (len > 0) {
    uint32_t n = len > DELTA_MAX_COPY ? DELTA_MAX_COPY : (uint32_t)len;
    unsigned char buf[8];
    int k = 1;
    unsigned char op = 0x80;
    for (int i = 0; i < 4; i++) {
      unsigned char c = (unsigned char)(off >> (8 * i));
      if (c) { op |= (unsigned char)(1 << i); buf[k++] = c; }
    }
    if (n != DELTA_MAX_COPY) {
      for (int i = 0; i < 3; i++) {
        unsigned char c = (unsigned char)(n >> (8 * i));
        if (c) { op |= (unsigned char)(0x10 << i); buf[k++] = c; }
      }
    }
    buf[0] = op;
    if ((size_t)(o->end - o->p) < (size_t)k) return -1;
    memcpy(o->p, buf, (size_t)k);
    o->p += k;
    off += n;
    len -= n;
  }
  return 0;
}

// How many bytes `a` and `b` have in common from their starts, at most `max`: eight at a time, since
// extending matches is most of an encoder's time on versions of one file (the result is the byte loop's).
static inline size_t match_length(const unsigned char* a, const unsigned char* b, size_t max) {
  size_t l = 0;
#if defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  while (l + 8 <= max) {
    uint64_t x, y;
    memcpy(&x, a + l, 8);
    memcpy(&y, b + l, 8);
    if (x != y) return l + ((size_t)__builtin_ctzll(x ^ y) >> 3);
    l += 8;
  }
#endif
  while (l < max && a[l] == b[l]) l++;
  return l;
}

// The longest match of the base's indexed blocks at target position `at` (window hash `h`).
// A block of another hash differs within the window, so it cannot give a match of DELTA_MIN_COPY bytes
// and is passed over: the longest match, and the first of that length, are the same as without the test.
static size_t delta_search(const int32_t* head, const int32_t* ent, int32_t bits, const unsigned char* base, size_t base_len,
                           const unsigned char* t, size_t t_len, uint32_t h, size_t at, size_t* found_pos) {
  size_t found = 0;
  *found_pos = 0;
  for (int32_t e = head[bucket_of(h, bits)]; e >= 0; e = ent[2 * (size_t)e]) {
    if ((uint32_t)ent[2 * (size_t)e + 1] != h) continue;
    size_t pos = (size_t)e * DELTA_WINDOW;
    size_t max = base_len - pos < t_len - at ? base_len - pos : t_len - at;
    size_t l = match_length(base + pos, t + at, max);
    if (l > found) {
      found = l;
      *found_pos = pos;
      if (l == t_len - at) break;
    }
  }
  return found;
}

// How far the match of target `at` and base `pos` runs back before them, not past target `floor`.
static size_t delta_back_over(const unsigned char* base, const unsigned char* t, size_t at, size_t pos, size_t floor) {
  size_t k = 0;
  while (at - k > floor && pos - k > 0 && base[pos - k - 1] == t[at - k - 1]) k++;
  return k;
}

int32_t medo_delta_sample(const int32_t* index, const unsigned char* base, size_t base_len, const unsigned char* t, size_t t_len,
                          int32_t samples, int32_t span) {
  if (samples <= 0 || span <= 0 || t == NULL || t_len < (size_t)span + DELTA_WINDOW) return 0;
  int32_t bits = index[0];
  const int32_t* head = index + 1;
  const int32_t* ent = head + ((size_t)1 << bits);
  const uint32_t pow = delta_prime_pow();
  size_t room = t_len - (size_t)span - DELTA_WINDOW;
  int32_t hits = 0;
  for (int32_t k = 0; k < samples; k++) {
    size_t s = (size_t)((uint64_t)k * room / (uint64_t)samples);
    uint32_t h = window_hash(t + s);
    int hit = 0;
    for (size_t j = s; j < s + (size_t)span && !hit; j++) {
      if (j > s) h = (h - t[j - 1] * pow) * DELTA_PRIME + t[j - 1 + DELTA_WINDOW];
      for (int32_t e = head[bucket_of(h, bits)]; e >= 0; e = ent[2 * (size_t)e]) {
        if ((uint32_t)ent[2 * (size_t)e + 1] == h && memcmp(base + (size_t)e * DELTA_WINDOW, t + j, DELTA_WINDOW) == 0) {
          hit = 1;
          break;
        }
      }
    }
    hits += hit;
  }
  (void)base_len;
  return hits;
}

int64_t medo_create_delta(const int32_t* index, const unsigned char* base, size_t base_len, const unsigned char* t, size_t t_len,
                          unsigned char* dst, size_t dst_len) {
  // As in medo_apply_delta: empty buffers may come as NULL, and pointer arithmetic on NULL is undefined.
  static unsigned char empty;
  if (base == NULL) base = &empty;
  if (t == NULL) t = &empty;
  if (dst == NULL) dst = &empty;
  delta_out_t o = {dst, dst + dst_len};
  if (put_varint(&o, base_len) || put_varint(&o, t_len)) return -1;
  int32_t bits = index[0];
  const int32_t* head = index + 1;
  const int32_t* ent = head + ((size_t)1 << bits);
  const uint32_t pow = delta_prime_pow();
  size_t i = 0, ins = 0;
  uint32_t h = t_len >= DELTA_WINDOW ? window_hash(t) : 0;
  while (i + DELTA_WINDOW <= t_len) {
    size_t found_pos;
    size_t found = delta_search(head, ent, bits, base, base_len, t, t_len, h, i, &found_pos);
    if (found >= DELTA_MIN_COPY) {
      // The match, extended back over the pending literals; then lazy matching (see delta-encode.ts).
      size_t k = delta_back_over(base, t, i, found_pos, ins);
      size_t from = i - k, pos = found_pos - k;
      size_t end = i + found;
      size_t first_from = from, first_pos = pos, first_end = end;
      if (found < DELTA_LAZY_UNTIL) {
        uint32_t hj = h;
        for (size_t j = i + 1; j < i + DELTA_WINDOW && j + DELTA_WINDOW <= t_len; j++) {
          hj = (hj - t[j - 1] * pow) * DELTA_PRIME + t[j - 1 + DELTA_WINDOW];
          size_t pos2;
          size_t l2 = delta_search(head, ent, bits, base, base_len, t, t_len, hj, j, &pos2);
          if (l2 < DELTA_MIN_COPY) continue;
          k = delta_back_over(base, t, j, pos2, ins);
          if ((int64_t)(j + l2) - (int64_t)end > (int64_t)(j - k) - (int64_t)from) {
            from = j - k;
            pos = pos2 - k;
            end = j + l2;
          }
        }
      }
      if (from > first_from && from <= first_end && from - first_from >= DELTA_MIN_SPLIT) {
        if (put_inserts(&o, t + ins, first_from - ins) || put_copies(&o, (uint32_t)first_pos, from - first_from)) return -1;
      } else if (put_inserts(&o, t + ins, from - ins)) {
        return -1;
      }
      if (put_copies(&o, (uint32_t)pos, end - from)) return -1;
      i = end;
      ins = i;
      if (i + DELTA_WINDOW <= t_len) h = window_hash(t + i);
    } else {
      // The pending literals would need at least this much room.
      if (i + 1 - ins + (i + 1 - ins) / 127 + 1 > (size_t)(o.end - o.p)) return -1;
      if (i + DELTA_WINDOW < t_len) h = (h - t[i] * pow) * DELTA_PRIME + t[i + DELTA_WINDOW];
      i++;
    }
  }
  if (put_inserts(&o, t + ins, t_len - ins)) return -1;
  return o.p - dst;
}
