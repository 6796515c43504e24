// medo's native helpers, kept to what JavaScript cannot do cheaply.
//
// This file is the N-API glue and the system calls. The byte-level work of inflateInto, applyDeltaInto,
// deltaIndexInto and createDeltaInto, which reads bytes from packs and remote silos, is in medo_core.c:
// pure C that fuzz/native/ runs under libFuzzer and the sanitizers. deflateInto stays here: it only loads
// the system zlib and makes one deflate call over bytes of our own.
//
// inflateInto(src, dst): inflates the zlib stream at the start of `src` into exactly `dst.length` bytes,
// with one z_stream per thread reused across calls. node:zlib's inflateSync builds a stream object, an
// event emitter and a fresh z_stream for every call, which costs more than inflating a small git object.
// Returns the number of input bytes the stream used (>= 0), or a negative status:
//   -1  the input ended before the stream did (the caller may retry with more input)
//   -2  the stream holds more than dst.length bytes (a lie or a bomb)
//   -3  the stream ends before filling dst
//   -4  the data is not a valid zlib stream
//
// applyDeltaInto(base, delta, start, dst): runs git's delta instructions from delta[start] (after the
// two size headers, which the caller has checked) into dst, whose length is the declared result size.
// Every copy is bounds-checked against base and dst. Returns 0, or a negative status:
//   -1 truncated copy instruction   -2 copy reads past the base   -3 copy writes past the result
//   -4 truncated insert             -5 insert writes past the result
//   -6 reserved instruction 0       -7 the result is shorter than declared
//
// createFile(path, dir, data, perm, chmod, sec, nsec): a new file of `data` (lib/medo/materialize/fs-ops.ts),
// its mode set when `chmod`, its mtime set to the nanosecond when nsec >= 0. With `dir` empty it is created
// at `path` directly (O_EXCL|O_NOFOLLOW: never over anything). Otherwise it is given its name only once
// complete: an unnamed file in `dir` (O_TMPFILE), written, then linked as `path` (linkat through
// /proc/self/fd, which fails with EEXIST rather than replace anything); a crash leaves an orphan inode the
// filesystem reclaims, never a stray temp file. One call instead of five or six from JavaScript.
// Returns 0, or -(stage << 16 | errno) with stage 1 open, 2 write, 3 fchmod, 4 futimens, 5 linkat.
//
// deltaIndexInto(base, index) and createDeltaInto(index, base, target, dst): git's delta encoder, after the
// approach of git's diff-delta.c (lib/git/delta-encode.ts has the JavaScript twin and the layout, and the
// tests hold the two to identical bytes). The index hashes every 16-byte block of the base (a polynomial
// hash that rolls); createDeltaInto slides the same hash over the target, extends each hit forward and
// backward, and writes copy and insert instructions into dst. Returns the delta's length, or -1 when it
// would not fit in dst (the caller's size limit: a delta no smaller than that is not worth keeping).
// deltaSample(index, base, target, samples, span): how many of `samples` stretches of the target hold a
// window of the base, which lets the caller skip a base too unlike the target to give a small delta.
//
// deflateInto(src, dst, level): the zlib stream of src at `level` into dst, made by the system's zlib
// (libz.so.1, opened with RTLD_DEEPBIND so its own calls stay inside it) rather than the one Node carries
// and exports to addons. Node's is Chromium's fork: faster, but 1-2% larger on executables and compiled
// code (gcc-12's cc1 at level 9: 12.67 MB against 12.39 MB; git, linked with the system's, makes 12.46 MB
// at its default level 6), and a static delta or repacked pack is made once and fetched by every host.
// The addon links no zlib of its own (inflateInto's is Node's). One z_stream per thread, reset between calls. Returns the stream's length, -1 when dst is too small,
// -2 when the system zlib cannot be loaded or set up (the caller falls back to node:zlib).
#define _GNU_SOURCE
#include <node_api.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "medo_core.h"

typedef struct {
  int (*init2)(z_streamp, int, int, int, int, int, const char*, int);
  int (*deflate)(z_streamp, int);
  int (*reset)(z_streamp);
  int (*end)(z_streamp);
} system_zlib_t;

typedef struct {
  z_stream strm;
  int ready;
  z_stream deflater;
  int deflater_level;  // -1: none set up
} instance_t;

// The system zlib's deflate functions, or NULL when it cannot be opened. Looked up once per process; a
// handle from dlopen stays valid, and the lookup is idempotent, so threads racing here do no harm.
static const system_zlib_t* system_zlib(void) {
  static system_zlib_t z;
  static int state;  // 0 not tried, 1 loaded, -1 unavailable
  if (state == 0) {
    // Loaded by anyone else first (the addon does not link it: its inflate is Node's), the library's
    // own calls may have been bound to Node's zlib, whose state does not match: then none is used.
    void* h = dlopen("libz.so.1", RTLD_NOW | RTLD_NOLOAD);
    if (h != NULL) {
      dlclose(h);
      h = NULL;
    } else {
      h = dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    }
    system_zlib_t found = {0};
    if (h != NULL) {
      *(void**)&found.init2 = dlsym(h, "deflateInit2_");
      *(void**)&found.deflate = dlsym(h, "deflate");
      *(void**)&found.reset = dlsym(h, "deflateReset");
      *(void**)&found.end = dlsym(h, "deflateEnd");
    }
    if (found.init2 != NULL && found.deflate != NULL && found.reset != NULL && found.end != NULL) {
      z = found;
      state = 1;
    } else {
      state = -1;
    }
  }
  return state == 1 ? &z : NULL;
}

static void finalize_instance(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  instance_t* inst = (instance_t*)data;
  if (inst->ready) inflateEnd(&inst->strm);
  if (inst->deflater_level >= 0) system_zlib()->end(&inst->deflater);
  free(inst);
}

static napi_value throw_type_error(napi_env env, const char* msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return NULL;
}

static int get_bytes(napi_env env, napi_value v, unsigned char** data, size_t* len) {
  bool is_typed = false;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed) return 0;
  napi_typedarray_type type;
  napi_value ab;
  size_t offset;
  void* base;
  if (napi_get_typedarray_info(env, v, &type, len, &base, &ab, &offset) != napi_ok) return 0;
  if (type != napi_uint8_array) return 0;
  *data = (unsigned char*)base;
  return 1;
}

static napi_value inflate_into(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2) {
    return throw_type_error(env, "inflateInto(src, dst) takes two Uint8Arrays");
  }
  unsigned char *src, *dst;
  size_t src_len, dst_len;
  if (!get_bytes(env, argv[0], &src, &src_len) || !get_bytes(env, argv[1], &dst, &dst_len)) {
    return throw_type_error(env, "inflateInto(src, dst) takes two Uint8Arrays");
  }
  instance_t* inst = NULL;
  if (napi_get_instance_data(env, (void**)&inst) != napi_ok || inst == NULL) {
    napi_throw_error(env, NULL, "medo_native: no instance data");
    return NULL;
  }
  z_stream* s = &inst->strm;
  if (!inst->ready) {
    s->zalloc = Z_NULL;
    s->zfree = Z_NULL;
    s->opaque = Z_NULL;
    s->next_in = Z_NULL;
    s->avail_in = 0;
    if (inflateInit(s) != Z_OK) {
      napi_throw_error(env, NULL, "medo_native: inflateInit failed");
      return NULL;
    }
    inst->ready = 1;
  } else {
    inflateReset(s);
  }
  int64_t status = medo_inflate_exact(s, src, src_len, dst, dst_len);
  napi_value result;
  napi_create_int64(env, status, &result);
  return result;
}

static napi_value apply_delta_into(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  unsigned char *base, *delta, *dst;
  size_t base_len, delta_len, dst_len;
  int64_t start;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 4 ||
      !get_bytes(env, argv[0], &base, &base_len) || !get_bytes(env, argv[1], &delta, &delta_len) ||
      napi_get_value_int64(env, argv[2], &start) != napi_ok || !get_bytes(env, argv[3], &dst, &dst_len)) {
    return throw_type_error(env, "applyDeltaInto(base, delta, start, dst) takes Uint8Arrays and an offset");
  }
  if (start < 0 || (uint64_t)start > delta_len) return throw_type_error(env, "applyDeltaInto: start is outside the delta");
  // `delta + start` must not be NULL + 0 (undefined behaviour): an empty typed array may have no storage.
  static unsigned char empty;
  if (delta == NULL) delta = &empty;
  int64_t status = medo_apply_delta(base, base_len, delta + start, delta + delta_len, dst, dst_len);
  napi_value result;
  napi_create_int64(env, status, &result);
  return result;
}

// unmount(path, lazy): umount2(2) for a root daemon, so that unmounting needs no fusermount child: a
// SIGCHLD delivered to one of libfuse's threads while the binding cancels it can leave libuv's signal
// lock held forever. Returns 0 or the errno.
static napi_value unmount_path(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char path[4096];
  size_t len = 0;
  bool lazy = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 ||
      napi_get_value_string_utf8(env, argv[0], path, sizeof(path), &len) != napi_ok || len >= sizeof(path) - 1 ||
      napi_get_value_bool(env, argv[1], &lazy) != napi_ok) {
    return throw_type_error(env, "unmount(path, lazy) takes a path and a boolean");
  }
  int rc = umount2(path, lazy ? MNT_DETACH : 0);
  napi_value result;
  napi_create_int32(env, rc == 0 ? 0 : errno, &result);
  return result;
}

static int create_file(const char* path, const char* dir, const unsigned char* data, size_t len, mode_t perm, int do_chmod,
                       int64_t sec, int64_t nsec) {
  int linked = dir[0] != '\0';
  int fd = linked ? open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, perm & 0777)
                  : open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, perm & 0777);
  if (fd < 0) return -(1 << 16 | errno);
  int stage = 0, err = 0;
  for (size_t done = 0; done < len && stage == 0;) {
    ssize_t n = write(fd, data + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) stage = 2, err = n < 0 ? errno : EIO;
    else done += (size_t)n;
  }
  if (stage == 0 && do_chmod && fchmod(fd, perm) != 0) stage = 3, err = errno;
  if (stage == 0 && nsec >= 0) {
    struct timespec times[2] = {{(time_t)sec, (long)nsec}, {(time_t)sec, (long)nsec}};
    if (futimens(fd, times) != 0) stage = 4, err = errno;
  }
  if (stage == 0 && linked) {
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) != 0) stage = 5, err = errno;
  }
  close(fd);
  // A direct file that could not be finished is removed: no half-written file stays under its name.
  if (stage != 0 && !linked) unlink(path);
  return stage == 0 ? 0 : -(stage << 16 | err);
}

static napi_value create_file_js(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  char dir[4096], path[4096];
  size_t dir_len = 0, path_len = 0, len = 0;
  unsigned char* data = NULL;
  uint32_t perm = 0;
  bool do_chmod = false;
  int64_t sec = 0, nsec = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 7 ||
      napi_get_value_string_utf8(env, argv[0], path, sizeof(path), &path_len) != napi_ok || path_len >= sizeof(path) - 1 ||
      napi_get_value_string_utf8(env, argv[1], dir, sizeof(dir), &dir_len) != napi_ok || dir_len >= sizeof(dir) - 1 ||
      !get_bytes(env, argv[2], &data, &len) || napi_get_value_uint32(env, argv[3], &perm) != napi_ok ||
      napi_get_value_bool(env, argv[4], &do_chmod) != napi_ok || napi_get_value_int64(env, argv[5], &sec) != napi_ok ||
      napi_get_value_int64(env, argv[6], &nsec) != napi_ok || nsec > 999999999) {
    return throw_type_error(env, "createFile(path, dir, data, perm, chmod, sec, nsec) takes two paths, a Uint8Array, a mode, a boolean and two integers");
  }
  napi_value result;
  napi_create_int32(env, create_file(path, dir, data, len, (mode_t)perm, do_chmod, sec, nsec), &result);
  return result;
}

static int get_int32s(napi_env env, napi_value v, int32_t** data, size_t* len) {
  bool is_typed = false;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed) return 0;
  napi_typedarray_type type;
  napi_value ab;
  size_t offset;
  void* base;
  if (napi_get_typedarray_info(env, v, &type, len, &base, &ab, &offset) != napi_ok || type != napi_int32_array) return 0;
  *data = (int32_t*)base;
  return 1;
}

// setTimes(path, fd, sec, nsec): atime and mtime to the nanosecond, of the open `fd` (futimens) when
// fd >= 0, else of `path` itself, a symlink not followed (utimensat with AT_SYMLINK_NOFOLLOW). Node's
// utimes takes a double of seconds and libuv keeps microseconds; a sidecar records nanoseconds, and an
// expanded tree whose times are exact gives back the very sidecar it came from. Returns 0 or the errno.
static napi_value set_times(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  char path[4096];
  size_t path_len = 0;
  int32_t fd = -1;
  int64_t sec = 0, nsec = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 4 ||
      napi_get_value_string_utf8(env, argv[0], path, sizeof(path), &path_len) != napi_ok || path_len >= sizeof(path) - 1 ||
      napi_get_value_int32(env, argv[1], &fd) != napi_ok || napi_get_value_int64(env, argv[2], &sec) != napi_ok ||
      napi_get_value_int64(env, argv[3], &nsec) != napi_ok || nsec < 0 || nsec > 999999999) {
    return throw_type_error(env, "setTimes(path, fd, sec, nsec) takes a path, a descriptor (-1: by path) and a time");
  }
  struct timespec times[2] = {{(time_t)sec, (long)nsec}, {(time_t)sec, (long)nsec}};
  int rc = fd >= 0 ? futimens(fd, times) : utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW);
  napi_value result;
  napi_create_int32(env, rc == 0 ? 0 : errno, &result);
  return result;
}

static napi_value delta_index_into(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  unsigned char* base;
  size_t base_len, index_len;
  int32_t* index;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 || !get_bytes(env, argv[0], &base, &base_len) ||
      !get_int32s(env, argv[1], &index, &index_len) || index_len < 1) {
    return throw_type_error(env, "deltaIndexInto(base, index) takes a Uint8Array and an Int32Array");
  }
  int rc = medo_delta_index(base, base_len, index, index_len);
  if (rc == -1) return throw_type_error(env, "deltaIndexInto: the index does not have the layout of this base");
  if (rc == -2) {
    napi_throw_error(env, NULL, "deltaIndexInto: out of memory");
    return NULL;
  }
  return NULL;
}

static napi_value create_delta_into(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  unsigned char *base, *target, *dst;
  size_t base_len, target_len, dst_len, index_len;
  int32_t* index;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 4 || !get_int32s(env, argv[0], &index, &index_len) ||
      !get_bytes(env, argv[1], &base, &base_len) || !get_bytes(env, argv[2], &target, &target_len) ||
      !get_bytes(env, argv[3], &dst, &dst_len)) {
    return throw_type_error(env, "createDeltaInto(index, base, target, dst) takes an Int32Array and three Uint8Arrays");
  }
  if (index_len < 1 || index[0] < 4 || index[0] > 24 || index_len != medo_delta_index_len(index[0], base_len) ||
      base_len > 0xffffffffu) {
    return throw_type_error(env, "createDeltaInto: the index does not have the layout of this base");
  }
  napi_value result;
  napi_create_int64(env, medo_create_delta(index, base, base_len, target, target_len, dst, dst_len), &result);
  return result;
}

static napi_value delta_sample(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  unsigned char *base, *target;
  size_t base_len, target_len, index_len;
  int32_t* index;
  int32_t samples, span;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 5 || !get_int32s(env, argv[0], &index, &index_len) ||
      !get_bytes(env, argv[1], &base, &base_len) || !get_bytes(env, argv[2], &target, &target_len) ||
      napi_get_value_int32(env, argv[3], &samples) != napi_ok || napi_get_value_int32(env, argv[4], &span) != napi_ok) {
    return throw_type_error(env, "deltaSample(index, base, target, samples, span) takes an Int32Array, two Uint8Arrays and two numbers");
  }
  if (index_len < 1 || index[0] < 4 || index[0] > 24 || index_len != medo_delta_index_len(index[0], base_len)) {
    return throw_type_error(env, "deltaSample: the index does not have the layout of this base");
  }
  napi_value result;
  napi_create_int32(env, medo_delta_sample(index, base, base_len, target, target_len, samples, span), &result);
  return result;
}

static napi_value deflate_into(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  unsigned char *src, *dst;
  size_t src_len, dst_len;
  int32_t level;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3 || !get_bytes(env, argv[0], &src, &src_len) ||
      !get_bytes(env, argv[1], &dst, &dst_len) || napi_get_value_int32(env, argv[2], &level) != napi_ok || level < 0 || level > 9 ||
      src_len > 0xffffffffu || dst_len > 0xffffffffu) {
    return throw_type_error(env, "deflateInto(src, dst, level) takes two Uint8Arrays and a level 0 to 9");
  }
  instance_t* inst;
  napi_get_instance_data(env, (void**)&inst);
  const system_zlib_t* z = system_zlib();
  int64_t out = -2;
  if (z != NULL) {
    z_stream* s = &inst->deflater;
    int ok = 1;
    if (inst->deflater_level != level) {
      if (inst->deflater_level >= 0) z->end(s);
      memset(s, 0, sizeof(*s));
      inst->deflater_level = -1;
      ok = z->init2(s, level, Z_DEFLATED, 15, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, (int)sizeof(z_stream)) == Z_OK;
      if (ok) inst->deflater_level = level;
    } else {
      ok = z->reset(s) == Z_OK;
    }
    if (ok) {
      static unsigned char empty;
      s->next_in = src != NULL ? src : &empty;
      s->avail_in = (uInt)src_len;
      s->next_out = dst != NULL ? dst : &empty;
      s->avail_out = (uInt)dst_len;
      int rc = z->deflate(s, Z_FINISH);
      out = rc == Z_STREAM_END ? (int64_t)s->total_out : -1;
    }
  }
  napi_value result;
  napi_create_int64(env, out, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  instance_t* inst = (instance_t*)calloc(1, sizeof(instance_t));
  if (inst == NULL || napi_set_instance_data(env, inst, finalize_instance, NULL) != napi_ok) {
    free(inst);
    napi_throw_error(env, NULL, "medo_native: cannot allocate instance data");
    return NULL;
  }
  inst->deflater_level = -1;
  napi_value fn;
  napi_create_function(env, "inflateInto", NAPI_AUTO_LENGTH, inflate_into, NULL, &fn);
  napi_set_named_property(env, exports, "inflateInto", fn);
  napi_create_function(env, "applyDeltaInto", NAPI_AUTO_LENGTH, apply_delta_into, NULL, &fn);
  napi_set_named_property(env, exports, "applyDeltaInto", fn);
  napi_create_function(env, "unmount", NAPI_AUTO_LENGTH, unmount_path, NULL, &fn);
  napi_set_named_property(env, exports, "unmount", fn);
  napi_create_function(env, "createFile", NAPI_AUTO_LENGTH, create_file_js, NULL, &fn);
  napi_set_named_property(env, exports, "createFile", fn);
  napi_create_function(env, "deltaIndexInto", NAPI_AUTO_LENGTH, delta_index_into, NULL, &fn);
  napi_set_named_property(env, exports, "deltaIndexInto", fn);
  napi_create_function(env, "createDeltaInto", NAPI_AUTO_LENGTH, create_delta_into, NULL, &fn);
  napi_set_named_property(env, exports, "createDeltaInto", fn);
  napi_create_function(env, "deltaSample", NAPI_AUTO_LENGTH, delta_sample, NULL, &fn);
  napi_set_named_property(env, exports, "deltaSample", fn);
  napi_create_function(env, "setTimes", NAPI_AUTO_LENGTH, set_times, NULL, &fn);
  napi_set_named_property(env, exports, "setTimes", fn);
  napi_create_function(env, "deflateInto", NAPI_AUTO_LENGTH, deflate_into, NULL, &fn);
  napi_set_named_property(env, exports, "deflateInto", fn);
  return exports;
}

NAPI_MODULE_INIT() {
  return init(env, exports);
}
