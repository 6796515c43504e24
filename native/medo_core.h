// The pure C under medo's native helpers: functions over byte buffers, with no Node and no I/O, so that
// the addon (medo_native.c) and the fuzz targets (fuzz/native/) run the very same code. Every function
// here may be handed hostile bytes (pack entries, deltas from a remote silo) and must stay inside the
// buffers it is given whatever they hold. A buffer of length 0 may be NULL (an empty typed array may have
// no storage), except the delta instructions [d, end), which are a range within the caller's delta.
#ifndef MEDO_CORE_H
#define MEDO_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

// ---- inflate ----

// medo_inflate_exact's failures (lib/inflate.ts names them).
#define MEDO_INFLATE_SHORT_INPUT -1  // the input ended before the stream did (the caller may retry with more)
#define MEDO_INFLATE_TOO_LONG -2     // the stream holds more than dst_len bytes (a lie or a bomb)
#define MEDO_INFLATE_TOO_SHORT -3    // the stream ends before filling dst
#define MEDO_INFLATE_BAD_DATA -4     // not a valid zlib stream

// Inflates the zlib stream at the start of src into exactly dst_len bytes, with `s` freshly set up by
// inflateInit or inflateReset. Returns the number of input bytes the stream used (>= 0), or a failure.
// Trailing input after the stream is ignored. Writes nothing outside dst.
int64_t medo_inflate_exact(z_stream* s, const unsigned char* src, size_t src_len, unsigned char* dst, size_t dst_len);

// ---- git deltas (https://git-scm.com/docs/gitformat-pack, "Deltified representation") ----

// medo_apply_delta's failures (lib/git/delta.ts names them).
#define MEDO_DELTA_TRUNCATED_COPY -1
#define MEDO_DELTA_COPY_PAST_BASE -2
#define MEDO_DELTA_COPY_PAST_RESULT -3
#define MEDO_DELTA_TRUNCATED_INSERT -4
#define MEDO_DELTA_INSERT_PAST_RESULT -5
#define MEDO_DELTA_RESERVED_OP -6
#define MEDO_DELTA_RESULT_SHORT -7

// Runs the delta instructions in [d, end) (after the two size headers, which the caller has checked)
// into out, whose length is the declared result size. Returns 0, or a failure.
int64_t medo_apply_delta(const unsigned char* base, size_t base_len, const unsigned char* d, const unsigned char* end,
                         unsigned char* out, size_t out_len);

// The encoder's block size: the index holds one entry per whole block of the base.
#define MEDO_DELTA_WINDOW 16

// An index's length in int32s for `bits` (4..24) and a base of base_len bytes: [bits, heads[1 << bits],
// (next, hash)[blocks]] (lib/git/delta-encode.ts describes the layout).
size_t medo_delta_index_len(int32_t bits, size_t base_len);

// Fills `index`, whose index[0] holds bits, for `base`. Returns 0, -1 when index_len is not
// medo_delta_index_len(bits, base_len) or bits is out of range, -2 when out of memory.
int medo_delta_index(const unsigned char* base, size_t base_len, int32_t* index, size_t index_len);

// The delta from the indexed base (at most 4 GiB: copy offsets are 32 bits) to target t, written into dst.
// Returns its length, or -1 when it would not fit in dst_len bytes. The index must have the layout of
// this base (medo_delta_index_len). Like git's diff-delta.c, it gives up as soon as the literals pending
// would not fit, although a later match may still take them back: a delta only a little shorter than
// dst_len (the bytes of those literals) may be refused. With room for the whole target as inserts it
// always fits. The output never depends on dst_len, only whether there is one.
int64_t medo_create_delta(const int32_t* index, const unsigned char* base, size_t base_len, const unsigned char* t, size_t t_len,
                          unsigned char* dst, size_t dst_len);

// Of `samples` evenly spaced stretches of the target, each of `span` window positions, how many hold a
// window equal to an indexed block of the base (an estimate of how much of the target a delta could
// copy; lib/git/delta-encode.ts says how it is used). Needs t_len >= span + MEDO_DELTA_WINDOW.
int32_t medo_delta_sample(const int32_t* index, const unsigned char* base, size_t base_len, const unsigned char* t, size_t t_len,
                          int32_t samples, int32_t span);

#endif
