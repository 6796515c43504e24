// medo's native helpers, kept to what JavaScript cannot do cheaply.
//
// inflateInto(src, dst): inflates the zlib stream at the start of `src` into exactly `dst.length` bytes,
// with one z_stream per thread reused across calls. node:zlib's inflateSync builds a stream object, an
// event emitter and a fresh z_stream for every call, which costs more than inflating a small git object.
// Returns the number of input bytes the stream used (>= 0), or a negative status:
//   -1  the input ended before the stream did (the caller may retry with more input)
//   -2  the stream holds more than dst.length bytes (a lie or a bomb)
//   -3  the stream ends before filling dst
//   -4  the data is not a valid zlib stream
#include <node_api.h>
#include <stdlib.h>
#include <zlib.h>

#define STATUS_SHORT_INPUT -1
#define STATUS_TOO_LONG -2
#define STATUS_TOO_SHORT -3
#define STATUS_BAD_DATA -4

typedef struct {
  z_stream strm;
  int ready;
} instance_t;

static void finalize_instance(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  instance_t* inst = (instance_t*)data;
  if (inst->ready) inflateEnd(&inst->strm);
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
  // zlib refuses a NULL buffer even of length 0, and an empty typed array may have no storage.
  static unsigned char empty;
  if (src == NULL) src = &empty;
  if (dst == NULL) dst = &empty;
  // zlib counts in uInt; objects over 4 GiB are refused by the caller's limits long before here.
  s->next_in = src;
  s->avail_in = (uInt)(src_len > 0xffffffffu ? 0xffffffffu : src_len);
  s->next_out = dst;
  s->avail_out = (uInt)dst_len;
  int ret = inflate(s, Z_FINISH);
  int64_t status;
  if (ret == Z_STREAM_END) {
    status = s->avail_out == 0 ? (int64_t)s->total_in : STATUS_TOO_SHORT;
  } else if (ret == Z_BUF_ERROR || ret == Z_OK) {
    if (s->avail_out > 0) {
      status = STATUS_SHORT_INPUT;
    } else {
      // dst is full but the stream did not end: either only its end marker and checksum remain, or
      // it holds more data. One spare byte of room tells them apart.
      unsigned char spare;
      s->next_out = &spare;
      s->avail_out = 1;
      ret = inflate(s, Z_FINISH);
      if (ret == Z_STREAM_END && s->avail_out == 1) status = (int64_t)s->total_in;
      else if (s->avail_out == 0) status = STATUS_TOO_LONG;
      else if (ret == Z_BUF_ERROR || ret == Z_OK) status = STATUS_SHORT_INPUT;
      else status = STATUS_BAD_DATA;
    }
  } else {
    status = STATUS_BAD_DATA;
  }
  napi_value result;
  napi_create_int64(env, status, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  instance_t* inst = (instance_t*)calloc(1, sizeof(instance_t));
  if (inst == NULL || napi_set_instance_data(env, inst, finalize_instance, NULL) != napi_ok) {
    free(inst);
    napi_throw_error(env, NULL, "medo_native: cannot allocate instance data");
    return NULL;
  }
  napi_value fn;
  napi_create_function(env, "inflateInto", NAPI_AUTO_LENGTH, inflate_into, NULL, &fn);
  napi_set_named_property(env, exports, "inflateInto", fn);
  return exports;
}

NAPI_MODULE_INIT() {
  return init(env, exports);
}
