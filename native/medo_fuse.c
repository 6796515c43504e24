// medo's FUSE server on libfuse 3's low-level API (daemon/fuse-lowlevel.ts drives it).
//
// Why it exists: the libfuse 2 binding names files by path and sends every open, release and first stat
// into JavaScript. Here the kernel is told, at FUSE_INIT, that open and opendir need no answer
// (FUSE_CAP_NO_OPEN_SUPPORT / NO_OPENDIR_SUPPORT: it then keeps page and readdir caches across opens), that
// symlinks may be cached, and directories are listed with attributes (readdirplus); forget, release and
// names outside the user.* xattr namespace are answered here, and so is the request past the end of a
// listing JavaScript has sent whole (listing_ended). What crosses into JavaScript is what needs the tree:
// lookup, getattr, readlink, read, readdir, statfs and user.* xattrs.
//
// Threads: one thread per mount runs fuse_session_loop (all signals blocked, so Node's handlers stay on
// the main thread). It copies each request into a message and hands it to JavaScript through a
// thread-safe function without waiting; JavaScript answers later, on its own thread, through the reply
// functions below (libfuse's replies may come from any thread). A request is named to JavaScript by a
// number, an index into this mount's table of pending requests plus a generation, so a stale or doubled
// answer finds nothing rather than a freed request.
//
// Lifecycle: mount() mounts and starts the thread; JavaScript hears "init" once the kernel's FUSE_INIT is
// answered (the mount is ready), and "exit" once the loop has ended (the mount was unmounted or its
// connection aborted); it then calls destroy(), which joins the thread, fails what is still pending and
// frees the session. Unmounting itself is umount2(2) or fusermount3 -u, done by the caller.
#define FUSE_USE_VERSION 34
#define _GNU_SOURCE
#include <fuse_lowlevel.h>
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "medo_core.h"

enum {
  OP_INIT = 1, OP_EXIT, OP_LOOKUP, OP_GETATTR, OP_READLINK, OP_READ, OP_READDIR, OP_READDIRPLUS,
  OP_GETXATTR, OP_LISTXATTR, OP_STATFS, OP_LISTED,
};

/*
 * Where each directory's listing ends, once JavaScript has sent all of it: the kernel asks once more, at
 * that offset, and gets its empty answer here instead of a crossing into JavaScript (half the requests of
 * a fresh walk of small directories). JavaScript hears of it afterwards (OP_LISTED, nothing to answer).
 * A small table by inode number; a slot taken by another directory only sends that request the long way.
 */
#define EOF_SLOTS 4096
typedef struct {
  uint64_t ino;
  int64_t off;
} listing_end_t;

#define INDEX_BITS 24
#define INDEX_SPAN ((uint32_t)1 << INDEX_BITS)
#define GEN_MASK 0x0fffffffu /* id = gen * 2^24 + index < 2^52: exact as a double */

typedef struct {
  int op;
  double id;
  uint64_t ino;
  uint64_t size;
  int64_t off;
  char name[]; /* lookup, getxattr: NUL-terminated */
} message_t;

/* Threads that push pages, and inflate what comes deflated (storeDeflated): one per core of a small host. */
#define STORE_THREADS 2
#define ITEM_SLOTS 4096
#define FAILED_KEPT 64
/* Pushes from packs queued or armed at once, beyond those a waiting read needs: each holds a duplicated
   descriptor of its pack until inflated (Node raises the soft limit on descriptors to the hard one at
   start), and a walk ahead of the reader by this many files is ahead enough. One past the bound is
   refused: JavaScript then pushes that file itself. */
#define ITEMS_MAX 1024
#define KEPT_BUFFER_MAX (256u << 10)
#define KEPT_BASE_MAX (1u << 20)
/* Items a store thread looks ahead for a delta of the base it holds (take_item). */
#define AFFINITY_WINDOW 16

typedef struct {
  struct fuse_session* se;
  pthread_t thread;
  int thread_started;
  int loop_status;
  napi_threadsafe_function tsfn;
  double entry_timeout, attr_timeout, negative_timeout;
  uid_t uid;
  gid_t gid;
  unsigned granted; /* capabilities wanted and granted at init */
  pthread_mutex_t lock;
  fuse_req_t* slots;
  uint32_t* gens;
  /* for a pending read, what it asks for (ino 0 otherwise): a push skips those pages (see store_main) */
  struct read_span* spans;
  uint32_t* free_list;
  uint32_t nslots, nfree;
  int destroyed;
  int tsfn_finalized;
  int external_finalized;
  /* pages pushed into the kernel's cache, by threads of their own (see js_store) */
  pthread_t store_threads[STORE_THREADS];
  int store_started, store_stop;
  pthread_cond_t store_cond;
  struct store_item* store_head;
  struct store_item* store_tail;
  size_t store_bytes;
  struct store_item* by_ino[ITEM_SLOTS]; /* storeDeflated's items not yet pushed, by inode (see read_from_store) */
  unsigned items;                        /* how many: each holds a descriptor until inflated (ITEMS_MAX) */
  fuse_ino_t failed[FAILED_KEPT];        /* the last files whose stream did not inflate, refused by storeDeflated */
  struct store_item* armed;              /* armDeflated's items, newest first, until their listing ends */
  unsigned failed_next;
  double stores_done; /* pushes the kernel took, under `lock` */
  double stores_inflated; /* of them, storeDeflated's (inflated on a store thread) */
  double reads_served;    /* reads answered from a store item (read_from_store, storeDeflated's), under `lock` */
  listing_end_t ends[EOF_SLOTS]; /* under `lock` */
} mount_t;

typedef struct read_span {
  uint64_t ino;
  int64_t off, end;
} read_span_t;

/* A read answered from a store item's content once it is inflated (read_from_store). */
typedef struct waiter {
  struct waiter* next;
  fuse_req_t req;
  size_t size;
  off_t off;
} waiter_t;

enum { ITEM_ARMED, ITEM_QUEUED, ITEM_INFLATING, ITEM_PUSHING };

typedef struct store_item {
  struct store_item* next;
  fuse_ino_t ino;
  off_t off;
  size_t len;
  /* storeDeflated: the zlib stream of the content is [src_off, src_off + src_len) of fd (a dup, closed
     when done), and data[] is empty; otherwise fd is -1 and data[] holds the len bytes */
  int fd;
  off_t src_off;
  size_t src_len;
  /* a delta (delta_size > 0): [src_off, +src_len) inflates to delta_size bytes of git delta, against the
     whole entry [base_off, +base_len) of the same fd, which inflates to base_size bytes */
  off_t base_off;
  size_t base_len, base_size, delta_size;
  /* storeDeflated's only, under `lock`: its place in by_ino until pushed, its state, the content while
     it is pushed (the store thread's buffer), and the reads waiting for it */
  struct store_item* hnext;
  int hashed, state;
  fuse_ino_t dir; /* ITEM_ARMED: the directory whose listing's end queues it (armDeflated) */
  const unsigned char* content;
  waiter_t* waiters;
  char data[];
} store_item_t;

/* Bytes of pushes waiting: beyond this a push is dropped (it only saves a later read). */
#define STORE_QUEUE_MAX (16u << 20)

static void free_mount(mount_t* m) {
  free(m->slots);
  free(m->gens);
  free(m->spans);
  free(m->free_list);
  pthread_mutex_destroy(&m->lock);
  pthread_cond_destroy(&m->store_cond);
  free(m);
}

/* ---- the table of pending requests ---- */

static double slot_put(mount_t* m, fuse_req_t req, const read_span_t* span) {
  pthread_mutex_lock(&m->lock);
  if (m->nfree == 0) {
    uint32_t n = m->nslots == 0 ? 64 : m->nslots * 2;
    fuse_req_t* slots = n <= INDEX_SPAN ? realloc(m->slots, n * sizeof *slots) : NULL;
    uint32_t* gens = slots ? realloc(m->gens, n * sizeof *gens) : NULL;
    read_span_t* spans = gens ? realloc(m->spans, n * sizeof *spans) : NULL;
    uint32_t* free_list = spans ? realloc(m->free_list, n * sizeof *free_list) : NULL;
    if (slots) m->slots = slots;
    if (gens) m->gens = gens;
    if (spans) m->spans = spans;
    if (free_list == NULL) {
      pthread_mutex_unlock(&m->lock);
      return -1;
    }
    m->free_list = free_list;
    for (uint32_t i = m->nslots; i < n; i++) {
      m->slots[i] = NULL;
      m->gens[i] = 0;
      m->spans[i].ino = 0;
      m->free_list[m->nfree++] = n - 1 - (i - m->nslots);
    }
    m->nslots = n;
  }
  uint32_t index = m->free_list[--m->nfree];
  m->slots[index] = req;
  m->gens[index] = (m->gens[index] + 1) & GEN_MASK;
  if (span) m->spans[index] = *span;
  else m->spans[index].ino = 0;
  double id = (double)m->gens[index] * INDEX_SPAN + index;
  pthread_mutex_unlock(&m->lock);
  return id;
}

static fuse_req_t slot_take(mount_t* m, double id) {
  if (!(id >= 0) || id >= 4503599627370496.0) return NULL;
  uint64_t n = (uint64_t)id;
  uint32_t index = (uint32_t)(n % INDEX_SPAN);
  uint32_t gen = (uint32_t)(n / INDEX_SPAN);
  fuse_req_t req = NULL;
  pthread_mutex_lock(&m->lock);
  if (index < m->nslots && m->slots[index] != NULL && m->gens[index] == gen) {
    req = m->slots[index];
    m->slots[index] = NULL;
    m->spans[index].ino = 0;
    m->free_list[m->nfree++] = index;
  }
  pthread_mutex_unlock(&m->lock);
  return req;
}

/* ---- the loop thread: requests into messages ---- */

static void post(mount_t* m, int op, fuse_req_t req, uint64_t ino, uint64_t size, int64_t off, const char* name) {
  size_t name_len = name ? strlen(name) : 0;
  message_t* msg = malloc(sizeof *msg + name_len + 1);
  read_span_t span = {ino, off, off + (int64_t)size};
  double id = msg && req ? slot_put(m, req, op == OP_READ ? &span : NULL) : 0;
  if (msg == NULL || id < 0) {
    free(msg);
    if (req) fuse_reply_err(req, ENOMEM);
    return;
  }
  msg->op = op;
  msg->id = id;
  msg->ino = ino;
  msg->size = size;
  msg->off = off;
  if (name) memcpy(msg->name, name, name_len);
  msg->name[name_len] = '\0';
  if (napi_call_threadsafe_function(m->tsfn, msg, napi_tsfn_nonblocking) != napi_ok) {
    fuse_req_t r = req ? slot_take(m, id) : NULL;
    if (r) fuse_reply_err(r, EIO);
    free(msg);
  }
}

static void ll_init(void* userdata, struct fuse_conn_info* conn) {
  mount_t* m = userdata;
  // Content never changes: the kernel need not ask before using its caches.
  unsigned want = FUSE_CAP_NO_OPEN_SUPPORT | FUSE_CAP_NO_OPENDIR_SUPPORT | FUSE_CAP_CACHE_SYMLINKS | FUSE_CAP_READDIRPLUS;
  conn->want |= want & conn->capable;
  // Always readdirplus (one crossing gives names and attributes), and never drop pages on a getattr.
  conn->want &= ~(unsigned)(FUSE_CAP_READDIRPLUS_AUTO | FUSE_CAP_AUTO_INVAL_DATA);
  if (conn->max_background < 64) conn->max_background = 64;
  if (conn->congestion_threshold < 48) conn->congestion_threshold = 48;
  m->granted = conn->want;
  post(m, OP_INIT, NULL, conn->want, conn->capable, 0, NULL);
}

static void ll_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  post(fuse_req_userdata(req), OP_LOOKUP, req, parent, 0, 0, name);
}

static void ll_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  // Inode numbers are stable for the life of the mount; nothing is freed when the kernel forgets one.
  (void)ino;
  (void)nlookup;
  fuse_reply_none(req);
}

static void ll_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data* forgets) {
  (void)count;
  (void)forgets;
  fuse_reply_none(req);
}

static void ll_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  (void)fi;
  post(fuse_req_userdata(req), OP_GETATTR, req, ino, 0, 0, NULL);
}

static void ll_readlink(fuse_req_t req, fuse_ino_t ino) {
  post(fuse_req_userdata(req), OP_READLINK, req, ino, 0, 0, NULL);
}

// Sent only by a kernel without no-open support (or before it learns of it): answered here.
static void ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  (void)ino;
  mount_t* m = fuse_req_userdata(req);
  if (m->granted & FUSE_CAP_NO_OPEN_SUPPORT) {
    fuse_reply_err(req, ENOSYS);
    return;
  }
  if ((fi->flags & O_ACCMODE) != O_RDONLY) {
    fuse_reply_err(req, EROFS);
    return;
  }
  fi->keep_cache = 1;
  fuse_reply_open(req, fi);
}

static void ll_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  (void)ino;
  mount_t* m = fuse_req_userdata(req);
  if (m->granted & FUSE_CAP_NO_OPENDIR_SUPPORT) {
    fuse_reply_err(req, ENOSYS);
    return;
  }
  fi->keep_cache = 1;
  fi->cache_readdir = 1;
  fuse_reply_open(req, fi);
}

static void ll_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  (void)ino;
  (void)fi;
  fuse_reply_err(req, 0);
}

static int read_from_store(mount_t* m, fuse_req_t req, fuse_ino_t ino, size_t size, off_t off);
static void release_armed(mount_t* m, fuse_ino_t dir, int queue);

static void ll_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info* fi) {
  (void)fi;
  mount_t* m = fuse_req_userdata(req);
  if (read_from_store(m, req, ino, size, off)) return;
  post(m, OP_READ, req, ino, size, off, NULL);
}

/* Answers the request past a listing's last entry here (1), or leaves it to JavaScript (0). */
static int listing_ended(mount_t* m, fuse_req_t req, fuse_ino_t ino, off_t off, int plus) {
  listing_end_t* e = &m->ends[ino % EOF_SLOTS];
  pthread_mutex_lock(&m->lock);
  int ended = e->ino == ino && e->off == off;
  if (ended) e->ino = 0;
  pthread_mutex_unlock(&m->lock);
  if (!ended) return 0;
  fuse_reply_buf(req, NULL, 0);
  // The kernel holds every entry's inode now: the files armed for this listing can be pushed.
  release_armed(m, ino, 1);
  post(m, OP_LISTED, NULL, ino, (uint64_t)plus, off, NULL);
  return 1;
}

static void ll_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info* fi) {
  (void)fi;
  mount_t* m = fuse_req_userdata(req);
  if (!listing_ended(m, req, ino, off, 0)) post(m, OP_READDIR, req, ino, size, off, NULL);
}

static void ll_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info* fi) {
  (void)fi;
  mount_t* m = fuse_req_userdata(req);
  if (!listing_ended(m, req, ino, off, 1)) post(m, OP_READDIRPLUS, req, ino, size, off, NULL);
}

static void ll_statfs(fuse_req_t req, fuse_ino_t ino) {
  post(fuse_req_userdata(req), OP_STATFS, req, ino, 0, 0, NULL);
}

// Only user.* names can exist here (user.medo.oid); security.*, system.posix_acl_* and the rest, which
// ls and cp ask for on every file, are answered without JavaScript.
static void ll_getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  if (strncmp(name, "user.", 5) != 0) {
    fuse_reply_err(req, ENODATA);
    return;
  }
  post(fuse_req_userdata(req), OP_GETXATTR, req, ino, size, 0, name);
}

static void ll_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  post(fuse_req_userdata(req), OP_LISTXATTR, req, ino, size, 0, NULL);
}

/* Every change is refused (the `ro` mount option stops most before they get here). */
static void ll_setattr(fuse_req_t req, fuse_ino_t i, struct stat* a, int s, struct fuse_file_info* f) { (void)i; (void)a; (void)s; (void)f; fuse_reply_err(req, EROFS); }
static void ll_mknod(fuse_req_t req, fuse_ino_t p, const char* n, mode_t m, dev_t d) { (void)p; (void)n; (void)m; (void)d; fuse_reply_err(req, EROFS); }
static void ll_mkdir(fuse_req_t req, fuse_ino_t p, const char* n, mode_t m) { (void)p; (void)n; (void)m; fuse_reply_err(req, EROFS); }
static void ll_unlink(fuse_req_t req, fuse_ino_t p, const char* n) { (void)p; (void)n; fuse_reply_err(req, EROFS); }
static void ll_symlink(fuse_req_t req, const char* l, fuse_ino_t p, const char* n) { (void)l; (void)p; (void)n; fuse_reply_err(req, EROFS); }
static void ll_rename(fuse_req_t req, fuse_ino_t p, const char* n, fuse_ino_t np, const char* nn, unsigned f) { (void)p; (void)n; (void)np; (void)nn; (void)f; fuse_reply_err(req, EROFS); }
static void ll_link(fuse_req_t req, fuse_ino_t i, fuse_ino_t np, const char* nn) { (void)i; (void)np; (void)nn; fuse_reply_err(req, EROFS); }
static void ll_write(fuse_req_t req, fuse_ino_t i, const char* b, size_t s, off_t o, struct fuse_file_info* f) { (void)i; (void)b; (void)s; (void)o; (void)f; fuse_reply_err(req, EROFS); }
static void ll_create(fuse_req_t req, fuse_ino_t p, const char* n, mode_t m, struct fuse_file_info* f) { (void)p; (void)n; (void)m; (void)f; fuse_reply_err(req, EROFS); }
static void ll_setxattr(fuse_req_t req, fuse_ino_t i, const char* n, const char* v, size_t s, int f) { (void)i; (void)n; (void)v; (void)s; (void)f; fuse_reply_err(req, EROFS); }
static void ll_removexattr(fuse_req_t req, fuse_ino_t i, const char* n) { (void)i; (void)n; fuse_reply_err(req, EROFS); }
static void ll_fallocate(fuse_req_t req, fuse_ino_t i, int m, off_t o, off_t l, struct fuse_file_info* f) { (void)i; (void)m; (void)o; (void)l; (void)f; fuse_reply_err(req, EROFS); }

static const struct fuse_lowlevel_ops OPS = {
  .init = ll_init,
  .lookup = ll_lookup,
  .forget = ll_forget,
  .forget_multi = ll_forget_multi,
  .getattr = ll_getattr,
  .readlink = ll_readlink,
  .open = ll_open,
  .opendir = ll_opendir,
  .release = ll_release,
  .releasedir = ll_release,
  .read = ll_read,
  .readdir = ll_readdir,
  .readdirplus = ll_readdirplus,
  .statfs = ll_statfs,
  .getxattr = ll_getxattr,
  .listxattr = ll_listxattr,
  .setattr = ll_setattr,
  .mknod = ll_mknod,
  .mkdir = ll_mkdir,
  .unlink = ll_unlink,
  .rmdir = ll_unlink,
  .symlink = ll_symlink,
  .rename = ll_rename,
  .link = ll_link,
  .write = ll_write,
  .create = ll_create,
  .setxattr = ll_setxattr,
  .removexattr = ll_removexattr,
  .fallocate = ll_fallocate,
};

static void* loop_main(void* arg) {
  mount_t* m = arg;
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, NULL);
  m->loop_status = fuse_session_loop(m->se);
  post(m, OP_EXIT, NULL, 0, 0, m->loop_status, NULL);
  napi_release_threadsafe_function(m->tsfn, napi_tsfn_release);
  return NULL;
}

/* ---- the JavaScript thread ---- */

// handler(op, id, ino, a, b): a is the name (lookup, getxattr) or the size; b the offset, or for getxattr
// the size. init: (OP_INIT, 0, granted, capable); exit: (OP_EXIT, 0, 0, 0, status).
static void call_js(napi_env env, napi_value js_cb, void* context, void* data) {
  mount_t* m = context;
  message_t* msg = data;
  if (env == NULL) { /* the function is being torn down */
    fuse_req_t r = msg->id > 0 ? slot_take(m, msg->id) : NULL;
    if (r) fuse_reply_err(r, EIO);
    free(msg);
    return;
  }
  napi_value argv[5], undefined;
  napi_get_undefined(env, &undefined);
  napi_create_int32(env, msg->op, &argv[0]);
  napi_create_double(env, msg->id, &argv[1]);
  napi_create_double(env, (double)msg->ino, &argv[2]);
  switch (msg->op) {
    case OP_LOOKUP:
      napi_create_string_utf8(env, msg->name, NAPI_AUTO_LENGTH, &argv[3]);
      argv[4] = undefined;
      break;
    case OP_GETXATTR:
      napi_create_string_utf8(env, msg->name, NAPI_AUTO_LENGTH, &argv[3]);
      napi_create_double(env, (double)msg->size, &argv[4]);
      break;
    default:
      napi_create_double(env, (double)msg->size, &argv[3]);
      napi_create_double(env, (double)msg->off, &argv[4]);
  }
  napi_status st = napi_call_function(env, undefined, js_cb, 5, argv, NULL);
  if (st == napi_pending_exception) {
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
  }
  if (st != napi_ok && msg->id > 0) { /* the handler threw before answering */
    fuse_req_t r = slot_take(m, msg->id);
    if (r) fuse_reply_err(r, EIO);
  }
  free(msg);
}

static void tsfn_finalize(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  mount_t* m = data;
  m->tsfn_finalized = 1;
  if (m->external_finalized) free_mount(m);
}

static void external_finalize(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  mount_t* m = data;
  m->external_finalized = 1;
  // A mount still serving keeps its state: the loop thread uses it.
  if (m->tsfn_finalized || !m->thread_started) free_mount(m);
}

static napi_value throw_error(napi_env env, const char* code, const char* msg) {
  napi_throw_error(env, code, msg);
  return NULL;
}

#define ARGS(n)                                                        \
  size_t argc = n;                                                     \
  napi_value argv[n];                                                  \
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) \
    return NULL

static mount_t* get_mount(napi_env env, napi_value v) {
  void* data = NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok || data == NULL) {
    throw_error(env, "ERR_INVALID_ARG_TYPE", "not a mount handle");
    return NULL;
  }
  return data;
}

static double get_double(napi_env env, napi_value v) {
  double d = 0;
  napi_get_value_double(env, v, &d);
  return d;
}

// The bytes of a typed array (a Buffer): data and length, or NULL and 0 for anything else.
static void get_bytes(napi_env env, napi_value v, void** data, size_t* len) {
  *data = NULL;
  *len = 0;
  bool is_typed = false;
  napi_is_typedarray(env, v, &is_typed);
  if (!is_typed) return;
  napi_typedarray_type type;
  napi_value ab;
  size_t offset;
  napi_get_typedarray_info(env, v, &type, len, data, &ab, &offset);
}

static char* get_string(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char* s = malloc(len + 1);
  if (s) napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

// mount(mountpoint, options, debug, handler, uid, gid, entryTimeout, attrTimeout, negativeTimeout) -> handle
// `options` is the -o string (ro,default_permissions,fsname=...). Throws with the errno's text on failure.
static napi_value js_mount(napi_env env, napi_callback_info info) {
  ARGS(9);
  if (argc < 9) return throw_error(env, "ERR_INVALID_ARG_TYPE", "mount() takes 9 arguments");
  char* mountpoint = get_string(env, argv[0]);
  char* options = get_string(env, argv[1]);
  bool debug = false;
  napi_get_value_bool(env, argv[2], &debug);
  mount_t* m = calloc(1, sizeof *m);
  if (!mountpoint || !options || !m) {
    free(mountpoint);
    free(options);
    free(m);
    return throw_error(env, "ERR_MOUNT_FAILED", "out of memory");
  }
  pthread_mutex_init(&m->lock, NULL);
  pthread_cond_init(&m->store_cond, NULL);
  m->uid = (uid_t)get_double(env, argv[4]);
  m->gid = (gid_t)get_double(env, argv[5]);
  m->entry_timeout = get_double(env, argv[6]);
  m->attr_timeout = get_double(env, argv[7]);
  m->negative_timeout = get_double(env, argv[8]);

  char* args_v[] = {"medo", "-o", options, debug ? "-d" : NULL, NULL};
  struct fuse_args args = FUSE_ARGS_INIT(debug ? 4 : 3, args_v);
  m->se = fuse_session_new(&args, &OPS, sizeof OPS, m);
  free(options);
  if (m->se == NULL) {
    free(mountpoint);
    free_mount(m);
    return throw_error(env, "ERR_MOUNT_FAILED", "libfuse refused the mount options");
  }
  napi_value name;
  napi_create_string_utf8(env, "medo-fuse", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[3], NULL, name, 0, 1, m, tsfn_finalize, m, call_js, &m->tsfn) != napi_ok) {
    fuse_session_destroy(m->se);
    free(mountpoint);
    free_mount(m);
    return throw_error(env, "ERR_MOUNT_FAILED", "cannot create the request queue");
  }
  errno = 0;
  if (fuse_session_mount(m->se, mountpoint) != 0) {
    int e = errno;
    fuse_session_destroy(m->se);
    m->se = NULL;
    napi_release_threadsafe_function(m->tsfn, napi_tsfn_abort);
    free(mountpoint);
    char msg[256];
    snprintf(msg, sizeof msg, "fuse_session_mount failed%s%s", e ? ": " : "", e ? strerror(e) : "");
    m->destroyed = 1;
    return throw_error(env, "ERR_MOUNT_FAILED", msg);
  }
  free(mountpoint);
  if (pthread_create(&m->thread, NULL, loop_main, m) != 0) {
    fuse_session_unmount(m->se);
    fuse_session_destroy(m->se);
    m->se = NULL;
    m->destroyed = 1;
    napi_release_threadsafe_function(m->tsfn, napi_tsfn_abort);
    return throw_error(env, "ERR_MOUNT_FAILED", "cannot start the FUSE thread");
  }
  m->thread_started = 1;
  napi_value handle;
  napi_create_external(env, m, external_finalize, NULL, &handle);
  return handle;
}

// destroy(handle): after "exit". Joins the loop thread, fails what is still pending, frees the session.
static napi_value js_destroy(napi_env env, napi_callback_info info) {
  ARGS(1);
  mount_t* m = get_mount(env, argv[0]);
  if (m == NULL || m->destroyed) return NULL;
  m->destroyed = 1;
  pthread_join(m->thread, NULL);
  if (m->store_started) { /* the connection is gone, so a push waiting on a page lock has returned */
    pthread_mutex_lock(&m->lock);
    m->store_stop = 1;
    pthread_cond_broadcast(&m->store_cond);
    pthread_mutex_unlock(&m->lock);
    for (int i = 0; i < m->store_started; i++) pthread_join(m->store_threads[i], NULL);
  }
  for (uint32_t i = 0; i < m->nslots; i++) {
    fuse_req_t r = NULL;
    pthread_mutex_lock(&m->lock);
    if (m->slots[i] != NULL) {
      r = m->slots[i];
      m->slots[i] = NULL;
      m->free_list[m->nfree++] = i;
    }
    pthread_mutex_unlock(&m->lock);
    if (r) fuse_reply_err(r, EIO);
  }
  fuse_session_unmount(m->se); /* the connection is gone: this only closes the device */
  fuse_session_destroy(m->se);
  m->se = NULL;
  return NULL;
}

// ref(handle, bool): whether a live mount keeps the event loop alive.
static napi_value js_ref(napi_env env, napi_callback_info info) {
  ARGS(2);
  mount_t* m = get_mount(env, argv[0]);
  bool ref = true;
  napi_get_value_bool(env, argv[1], &ref);
  if (m != NULL && !m->tsfn_finalized && !m->destroyed) {
    if (ref) napi_ref_threadsafe_function(env, m->tsfn);
    else napi_unref_threadsafe_function(env, m->tsfn);
  }
  return NULL;
}

// setTimeouts(handle, entry, negative): for later replies (a medo directory re-read under the mount).
static napi_value js_set_timeouts(napi_env env, napi_callback_info info) {
  ARGS(3);
  mount_t* m = get_mount(env, argv[0]);
  if (m == NULL) return NULL;
  m->entry_timeout = get_double(env, argv[1]);
  m->negative_timeout = get_double(env, argv[2]);
  return NULL;
}

// invalEntry(handle, parentIno, name) / invalInode(handle, ino): tell the kernel to forget a cached name
// (positive or negative) or a node's attributes, pages and readdir cache (a medo directory re-read under
// the mount). 0, or the negative errno (-ENOENT when the kernel held nothing).
static napi_value js_inval_entry(napi_env env, napi_callback_info info) {
  ARGS(3);
  mount_t* m = get_mount(env, argv[0]);
  if (m == NULL) return NULL;
  int res = -ENOTCONN;
  char* name = get_string(env, argv[2]);
  if (name != NULL && m->se != NULL && !m->destroyed) {
    res = fuse_lowlevel_notify_inval_entry(m->se, (fuse_ino_t)get_double(env, argv[1]), name, strlen(name));
  }
  free(name);
  napi_value out;
  napi_create_int32(env, res, &out);
  return out;
}

static napi_value js_inval_inode(napi_env env, napi_callback_info info) {
  ARGS(2);
  mount_t* m = get_mount(env, argv[0]);
  if (m == NULL) return NULL;
  int res = -ENOTCONN;
  fuse_ino_t ino = (fuse_ino_t)get_double(env, argv[1]);
  // A directory listed again may end elsewhere.
  pthread_mutex_lock(&m->lock);
  if (m->ends[ino % EOF_SLOTS].ino == ino) m->ends[ino % EOF_SLOTS].ino = 0;
  pthread_mutex_unlock(&m->lock);
  if (m->se != NULL && !m->destroyed) res = fuse_lowlevel_notify_inval_inode(m->se, ino, 0, 0);
  napi_value out;
  napi_create_int32(env, res, &out);
  return out;
}

// store(handle, ino, offset, bytes): puts a file's content into the kernel's page cache before anyone asks
// (fuse_lowlevel_notify_store), so the reads that follow never leave the kernel. Returns at once: the copy
// is pushed by a thread of its own, because the kernel waits for any page of it that a read has locked,
// and that read is answered on the JavaScript thread (pushing from there deadlocks). false when dropped.
//
// The pages of a read still pending are skipped: its answer fills them, and a push would wait for that
// answer, which may itself wait for the pushes to be taken (lowlevel-ops.ts answers a read that pushed
// once they are). A read the kernel has sent and this side has not yet seen can still hold up a push
// for a moment: until its answer.

#define PAGE_BYTES 4096

/* Under `lock`: where in [pos, end) of `ino` the first pending read starts (end if none), and where the
   pending reads that start there end (page-aligned). */
static int64_t first_pending(mount_t* m, uint64_t ino, int64_t pos, int64_t end, int64_t* resume) {
  int64_t cut = end;
  *resume = end;
  for (uint32_t i = 0; i < m->nslots; i++) {
    const read_span_t* r = &m->spans[i];
    if (m->slots[i] == NULL || r->ino != ino || r->off >= end || r->end <= pos) continue;
    int64_t s = r->off - r->off % PAGE_BYTES;
    int64_t e = (r->end + PAGE_BYTES - 1) / PAGE_BYTES * PAGE_BYTES;
    if (s < pos) s = pos;
    if (s < cut) {
      cut = s;
      *resume = e;
    } else if (s == cut && e > *resume) {
      *resume = e;
    }
  }
  return cut;
}

/* ---- storeDeflated's items by inode: reads of a file being inflated wait for it here ---- */

/* Under `lock`: whether `ino`'s stream failed to inflate lately. */
static int recently_failed(mount_t* m, fuse_ino_t ino) {
  for (unsigned i = 0; i < FAILED_KEPT; i++) {
    if (m->failed[i] == ino) return 1;
  }
  return 0;
}

/* Under `lock`. */
static store_item_t* item_find(mount_t* m, fuse_ino_t ino) {
  for (store_item_t* it = m->by_ino[ino % ITEM_SLOTS]; it != NULL; it = it->hnext) {
    if (it->ino == ino) return it;
  }
  return NULL;
}

static void item_hash(mount_t* m, store_item_t* it) {
  store_item_t** head = &m->by_ino[it->ino % ITEM_SLOTS];
  it->hnext = *head;
  *head = it;
  it->hashed = 1;
  m->items++;
}

static void item_unhash(mount_t* m, store_item_t* it) {
  if (!it->hashed) return;
  m->items--;
  for (store_item_t** p = &m->by_ino[it->ino % ITEM_SLOTS]; *p != NULL; p = &(*p)->hnext) {
    if (*p == it) {
      *p = it->hnext;
      break;
    }
  }
  it->hashed = 0;
}

static void reply_slice(fuse_req_t req, const unsigned char* content, size_t len, size_t size, off_t off) {
  size_t n = (size_t)off < len ? len - (size_t)off : 0;
  fuse_reply_buf(req, (const char*)content + (n ? off : 0), n < size ? n : size);
}

// A read of a file whose content a store thread is about to inflate or is pushing is answered by that
// thread, or here from the content it is pushing, instead of crossing into JavaScript: a walk that reads
// a file its listing's push has not reached yet would otherwise inflate it twice, once on each side.
// (Answering here, on the loop thread, also means no store thread ever waits on a page that a read of
// its own file has locked: that read is answered from the content, not queued behind the push.)
/* Under `lock`: `it` first in the queue (a read waits for it), or the list from `first` to `last` at its end. */
static void queue_first(mount_t* m, store_item_t* it) {
  it->state = ITEM_QUEUED;
  it->next = m->store_head;
  m->store_head = it;
  if (m->store_tail == NULL) m->store_tail = it;
  pthread_cond_signal(&m->store_cond);
}

static void queue_last(mount_t* m, store_item_t* first, store_item_t* last) {
  for (store_item_t* it = first; it != NULL; it = it->next) it->state = ITEM_QUEUED;
  last->next = NULL;
  if (m->store_tail) m->store_tail->next = first;
  else m->store_head = first;
  m->store_tail = last;
  pthread_cond_broadcast(&m->store_cond);
}

/* Under `lock`: read `w` joins item `it`: answered now from the content being pushed, else it waits for
   it (an armed item, which nothing else queues before its listing ends, goes first). */
static void join_item(mount_t* m, store_item_t* it, waiter_t* w) {
  m->reads_served++;
  if (it->state == ITEM_ARMED) {
    for (store_item_t** p = &m->armed; *p != NULL; p = &(*p)->next) {
      if (*p == it) {
        *p = it->next;
        break;
      }
    }
    queue_first(m, it);
  }
  if (it->state == ITEM_PUSHING) {
    reply_slice(w->req, it->content, it->len, w->size, w->off);
    free(w);
  } else {
    w->next = it->waiters;
    it->waiters = w;
  }
}

/* Armed items of `dir` into the queue, in the order they were armed (queue), or dropped. */
static void release_armed(mount_t* m, fuse_ino_t dir, int queue) {
  // The armed list is newest first: each taken goes in front of those taken before it, oldest first.
  store_item_t* ordered = NULL;
  store_item_t* last = NULL;
  pthread_mutex_lock(&m->lock);
  for (store_item_t** p = &m->armed; *p != NULL;) {
    store_item_t* it = *p;
    if (it->dir != dir) {
      p = &it->next;
      continue;
    }
    *p = it->next;
    it->next = ordered;
    ordered = it;
    if (last == NULL) last = it;
  }
  store_item_t* dropped = NULL;
  if (ordered != NULL && queue) {
    queue_last(m, ordered, last);
  } else if (ordered != NULL) {
    for (store_item_t* it = ordered; it != NULL; it = it->next) {
      item_unhash(m, it);
      m->store_bytes -= it->len;
    }
    dropped = ordered;
  }
  pthread_mutex_unlock(&m->lock);
  while (dropped != NULL) {
    store_item_t* next = dropped->next;
    close(dropped->fd);
    free(dropped);
    dropped = next;
  }
}

static int read_from_store(mount_t* m, fuse_req_t req, fuse_ino_t ino, size_t size, off_t off) {
  int taken = 0;
  pthread_mutex_lock(&m->lock);
  store_item_t* it = item_find(m, ino);
  waiter_t* w = it != NULL ? malloc(sizeof *w) : NULL;
  if (w != NULL) {
    *w = (waiter_t){NULL, req, size, off};
    join_item(m, it, w);
    taken = 1;
  }
  pthread_mutex_unlock(&m->lock);
  return taken;
}

/* Answers `w` and those after it from `content`, or, when it could not be had, sends them to JavaScript
   (which reads the file itself and reports what is wrong with it). Called without `lock`. */
static void answer_waiters(mount_t* m, waiter_t* w, fuse_ino_t ino, const unsigned char* content, size_t len) {
  while (w != NULL) {
    waiter_t* next = w->next;
    if (content != NULL) reply_slice(w->req, content, len, w->size, w->off);
    else post(m, OP_READ, w->req, ino, w->size, w->off, NULL);
    free(w);
    w = next;
  }
}

static int grow(unsigned char** buf, size_t* cap, size_t need) {
  if (*cap >= need) return 0;
  unsigned char* b = realloc(*buf, need);
  if (b == NULL) return -1;
  *buf = b;
  *cap = need;
  return 0;
}

/* A store thread's buffers for deflated items, grown as needed. */
typedef struct {
  z_stream z;
  int z_ready;
  unsigned char *src, *dst, *base, *delta;
  size_t src_cap, dst_cap, base_cap, delta_cap;
  /* which entry `base` holds (its file and offset), so that deltas of one base in a row inflate it once */
  dev_t base_dev;
  ino_t base_ino;
  off_t base_off;
  size_t base_size;
  int base_valid;
  /* the whole entry just inflated into dst, which becomes the kept base once pushed (keep_as_base) */
  dev_t made_dev;
  ino_t made_ino;
  off_t made_off;
  int made_valid;
} inflater_t;

/* Frees the buffers larger than `keep` (the kept base: larger than `keep_base`). */
static void inflater_trim(inflater_t* f, size_t keep, size_t keep_base) {
  unsigned char** bufs[] = {&f->src, &f->dst, &f->base, &f->delta};
  size_t* caps[] = {&f->src_cap, &f->dst_cap, &f->base_cap, &f->delta_cap};
  for (int i = 0; i < 4; i++) {
    if (*caps[i] > (i == 2 ? keep_base : keep)) {
      free(*bufs[i]);
      *bufs[i] = NULL;
      *caps[i] = 0;
      if (i == 2) f->base_valid = 0;
    }
  }
}

/* Reads [off, off + len) of fd and inflates it into exactly `size` bytes of out; 0, or -1. */
static int inflate_range(inflater_t* f, int fd, off_t off, size_t len, unsigned char* out, size_t size) {
  if (inflateReset(&f->z) != Z_OK || grow(&f->src, &f->src_cap, len)) return -1;
  ssize_t got = pread(fd, f->src, len, off);
  if (got < 0 || (size_t)got != len) return -1;
  return medo_inflate_exact(&f->z, f->src, len, out, size) < 0 ? -1 : 0;
}

/* A git delta's size header (little-endian base 128) at *p, not past end; -1 when it runs out. */
static int64_t delta_varint(const unsigned char** p, const unsigned char* end) {
  uint64_t v = 0;
  for (int shift = 0; *p < end && shift < 64; shift += 7) {
    unsigned char c = *(*p)++;
    v |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) return v > INT64_MAX ? -1 : (int64_t)v;
  }
  return -1;
}


/* Called without `lock`: the item's content, read and inflated into f->dst, or NULL when it cannot be
   (a failed read, a stream that is not exactly len bytes): then nothing is pushed, and the read that
   needs the file goes to JavaScript, which reports what is wrong. */
static const unsigned char* inflate_item(inflater_t* f, store_item_t* it) {
  if (!f->z_ready) {
    memset(&f->z, 0, sizeof f->z);
    if (inflateInit(&f->z) != Z_OK) return NULL;
    f->z_ready = 1;
  }
  if (grow(&f->dst, &f->dst_cap, it->len)) return NULL;
  f->made_valid = 0;
  if (it->delta_size == 0) {
    if (inflate_range(f, it->fd, it->src_off, it->src_len, f->dst, it->len)) return NULL;
    // A whole entry is often the base of the deltas after it (a pack in walk order puts a base just
    // before its first delta): remember which it is, to keep it as the base once pushed.
    struct stat st;
    if (it->len <= KEPT_BASE_MAX && fstat(it->fd, &st) == 0) {
      f->made_dev = st.st_dev;
      f->made_ino = st.st_ino;
      f->made_off = it->src_off;
      f->made_valid = 1;
    }
    return f->dst;
  }
  // A delta against a whole entry: both inflated, the delta's two sizes checked against them, applied.
  // The pack is in walk order, so the deltas of one base tend to come together: the last base is kept.
  struct stat st;
  if (fstat(it->fd, &st) != 0) return NULL;
  int have = f->base_valid && f->base_dev == st.st_dev && f->base_ino == st.st_ino && f->base_off == it->base_off &&
             f->base_size == it->base_size;
  if (!have) {
    f->base_valid = 0;
    if (grow(&f->base, &f->base_cap, it->base_size)) return NULL;
    if (inflate_range(f, it->fd, it->base_off, it->base_len, f->base, it->base_size)) return NULL;
    f->base_dev = st.st_dev;
    f->base_ino = st.st_ino;
    f->base_off = it->base_off;
    f->base_size = it->base_size;
    f->base_valid = 1;
  }
  if (grow(&f->delta, &f->delta_cap, it->delta_size)) return NULL;
  if (inflate_range(f, it->fd, it->src_off, it->src_len, f->delta, it->delta_size)) return NULL;
  const unsigned char* d = f->delta;
  const unsigned char* end = f->delta + it->delta_size;
  if (delta_varint(&d, end) != (int64_t)it->base_size || delta_varint(&d, end) != (int64_t)it->len) return NULL;
  return medo_apply_delta(f->base, it->base_size, d, end, f->dst, it->len) == 0 ? f->dst : NULL;
}

/* Under `lock`: the next item for this thread. The head, unless no read waits for it and one of the next
   AFFINITY_WINDOW items is a delta of the base this thread holds: the two threads would otherwise take
   turns at one base's deltas and each inflate it again. */
static store_item_t* take_item(mount_t* m, inflater_t* f) {
  store_item_t* prev = NULL;
  store_item_t* it = m->store_head;
  if (f->base_valid && it->waiters == NULL) {
    store_item_t* p = NULL;
    int n = 0;
    for (store_item_t* c = m->store_head; c != NULL && n < AFFINITY_WINDOW; p = c, c = c->next, n++) {
      if (c->delta_size > 0 && c->base_off == f->base_off && c->base_size == f->base_size) {
        prev = p;
        it = c;
        break;
      }
    }
  }
  if (prev == NULL) m->store_head = it->next;
  else prev->next = it->next;
  if (m->store_tail == it) m->store_tail = prev;
  return it;
}

/* After the push of a whole entry: its content becomes the kept base (the buffers swap, nothing is copied). */
static void keep_as_base(inflater_t* f, size_t size) {
  if (!f->made_valid) return;
  unsigned char* b = f->base;
  size_t cap = f->base_cap;
  f->base = f->dst;
  f->base_cap = f->dst_cap;
  f->dst = b;
  f->dst_cap = cap;
  f->base_dev = f->made_dev;
  f->base_ino = f->made_ino;
  f->base_off = f->made_off;
  f->base_size = size;
  f->base_valid = 1;
  f->made_valid = 0;
}

static void* store_main(void* arg) {
  mount_t* m = arg;
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, NULL);
  inflater_t f = {0};
  pthread_mutex_lock(&m->lock);
  for (;;) {
    while (m->store_head == NULL && !m->store_stop) pthread_cond_wait(&m->store_cond, &m->lock);
    if (m->store_stop) break;
    store_item_t* it = take_item(m, &f);
    const unsigned char* content = (const unsigned char*)it->data;
    if (it->fd >= 0) {
      it->state = ITEM_INFLATING;
      pthread_mutex_unlock(&m->lock);
      content = inflate_item(&f, it);
      close(it->fd);
      pthread_mutex_lock(&m->lock);
      // From now on a read of the file is answered from the content on the loop thread; those that
      // came meanwhile are answered first, before any push can wait on pages their requests hold.
      waiter_t* w = it->waiters;
      it->waiters = NULL;
      if (content != NULL) {
        it->state = ITEM_PUSHING;
        it->content = content;
      } else {
        item_unhash(m, it);
        // Its reads go to JavaScript, which must then read the file itself, not hand it back here.
        m->failed[m->failed_next++ % FAILED_KEPT] = it->ino;
      }
      if (w != NULL) {
        pthread_mutex_unlock(&m->lock);
        answer_waiters(m, w, it->ino, content, it->len);
        pthread_mutex_lock(&m->lock);
      }
    }
    int pushed = 0;
    int64_t end = (int64_t)it->off + (int64_t)it->len;
    for (int64_t pos = it->off; content != NULL && pos < end;) {
      int64_t resume;
      int64_t cut = first_pending(m, it->ino, pos, end, &resume);
      if (cut > pos) {
        pthread_mutex_unlock(&m->lock);
        struct fuse_bufvec bv = FUSE_BUFVEC_INIT((size_t)(cut - pos));
        bv.buf[0].mem = (void*)(content + (pos - it->off));
        if (fuse_lowlevel_notify_store(m->se, it->ino, pos, &bv, 0) == 0) pushed = 1;
        pthread_mutex_lock(&m->lock);
      }
      pos = resume;
    }
    if (pushed) m->stores_done++;
    if (pushed && it->fd >= 0) m->stores_inflated++;
    item_unhash(m, it);
    m->store_bytes -= it->len;
    if (content != NULL && it->fd >= 0) keep_as_base(&f, it->len);
    free(it);
    // A buffer grown for a large file is not kept: each mount has two such threads, and a daemon serving
    // ten mounts would otherwise hold megabytes per thread for files read once.
    inflater_trim(&f, KEPT_BUFFER_MAX, KEPT_BASE_MAX);
  }
  if (f.z_ready) inflateEnd(&f.z);
  inflater_trim(&f, 0, 0);
  if (m->store_head == NULL) { /* armed items, never queued, go with the queue */
    m->store_head = m->armed;
  } else {
    m->store_tail->next = m->armed;
  }
  m->armed = NULL;
  while (m->store_head != NULL) {
    store_item_t* it = m->store_head;
    m->store_head = it->next;
    if (it->fd >= 0) close(it->fd);
    item_unhash(m, it);
    for (waiter_t* w = it->waiters; w != NULL;) {
      waiter_t* next = w->next;
      fuse_reply_err(w->req, EIO); /* the connection is gone: this only frees the request */
      free(w);
      w = next;
    }
    free(it);
  }
  m->store_tail = NULL;
  m->store_bytes = 0;
  pthread_mutex_unlock(&m->lock);
  return NULL;
}

/* Starts the store threads on first use; false when none could be. */
static bool store_threads_up(mount_t* m) {
  if (!m->store_started) {
    for (int i = 0; i < STORE_THREADS; i++) {
      if (pthread_create(&m->store_threads[i], NULL, store_main, m) != 0) break;
      m->store_started++;
    }
  }
  return m->store_started > 0;
}

/* Queues `it` (of it->len bytes of content) unless the queue is full; frees it when not queued. With a
   read `w` to answer from it, it goes first and the queue's bound does not apply (the read needs the
   content either way); a file already on its way takes the read instead, and `it` is not needed. */
static bool enqueue_store(mount_t* m, store_item_t* it, waiter_t* w) {
  bool queued = false;
  it->next = NULL;
  it->hnext = NULL;
  it->hashed = 0;
  it->state = ITEM_QUEUED;
  it->content = NULL;
  it->waiters = NULL;
  pthread_mutex_lock(&m->lock);
  store_item_t* same = it->fd >= 0 ? item_find(m, it->ino) : NULL;
  waiter_t* back = NULL; /* a read to give back to JavaScript */
  if (it->fd >= 0 && recently_failed(m, it->ino)) {
    back = w;
  } else if (same != NULL) {
    if (w != NULL) join_item(m, same, w);
    queued = true;
  } else if (w != NULL || (m->store_bytes + it->len <= STORE_QUEUE_MAX && (it->fd < 0 || m->items < ITEMS_MAX))) {
    if (it->fd >= 0) item_hash(m, it);
    m->store_bytes += it->len;
    if (w != NULL) {
      queue_first(m, it);
      join_item(m, it, w);
    } else {
      queue_last(m, it, it);
    }
    queued = true;
    it = NULL;
  }
  pthread_mutex_unlock(&m->lock);
  if (back != NULL) {
    /* (storeDeflated refuses the file from now on, so it is not handed back here again) */
    post(m, OP_READ, back->req, it->ino, back->size, back->off, NULL);
    free(back);
  }
  if (it != NULL) {
    if (it->fd >= 0) close(it->fd);
    free(it);
  }
  return queued;
}

static napi_value js_store(napi_env env, napi_callback_info info) {
  ARGS(4);
  mount_t* m = get_mount(env, argv[0]);
  if (m == NULL) return NULL;
  void* data;
  size_t len;
  get_bytes(env, argv[3], &data, &len);
  bool queued = false;
  if (m->se != NULL && !m->destroyed && len > 0 && store_threads_up(m)) {
    store_item_t* it = malloc(sizeof *it + len);
    if (it != NULL) {
      it->next = NULL;
      it->ino = (fuse_ino_t)get_double(env, argv[1]);
      it->off = (off_t)get_double(env, argv[2]);
      it->len = len;
      it->fd = -1;
      memcpy(it->data, data, len);
      queued = enqueue_store(m, it, NULL);
    }
  }
  napi_value out;
  napi_get_boolean(env, queued, &out);
  return out;
}

// A file's place in a pack, as lib/mount/source.ts's DeflatedRange in a Float64Array: [fd, start, end,
// size, baseStart, baseEnd, baseSize, deltaSize]; deltaSize 0 for a whole entry. Fills the item's source fields
// and returns the descriptor, or -1 when the numbers are out of bounds.
static int get_range(napi_env env, napi_value v, store_item_t* it) {
  void* data = NULL;
  napi_typedarray_type type;
  size_t count = 0, byte_offset;
  napi_value buffer;
  if (napi_get_typedarray_info(env, v, &type, &count, &data, &buffer, &byte_offset) != napi_ok || type != napi_float64_array || count != 8) return -1;
  const double* r = data;
  const double max = STORE_QUEUE_MAX;
  if (!(r[0] >= 0 && r[0] < 1 << 30 && r[1] >= 0 && r[2] > r[1] && r[2] - r[1] <= max && r[3] > 0 && r[3] <= max)) return -1;
  it->src_off = (off_t)r[1];
  it->src_len = (size_t)(r[2] - r[1]);
  it->len = (size_t)r[3];
  it->delta_size = 0;
  it->base_size = it->base_len = 0;
  it->base_off = 0;
  if (r[7] != 0) {
    if (!(r[7] > 0 && r[7] <= max && r[4] >= 0 && r[5] > r[4] && r[5] - r[4] <= max && r[6] > 0 && r[6] <= max)) return -1;
    it->base_off = (off_t)r[4];
    it->base_len = (size_t)(r[5] - r[4]);
    it->base_size = (size_t)r[6];
    it->delta_size = (size_t)r[7];
  }
  return (int)r[0];
}

/* A store item for file `ino` at `range` (get_range), with its own duplicate of the pack's descriptor;
   NULL when the mount is going, the range is out of bounds or the descriptor cannot be duplicated. */
static store_item_t* new_pack_item(napi_env env, mount_t* m, napi_value range, double ino) {
  if (m->se == NULL || m->destroyed || !store_threads_up(m)) return NULL;
  store_item_t* it = calloc(1, sizeof *it);
  int fd = it != NULL ? get_range(env, range, it) : -1;
  int own = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
  if (own < 0) {
    free(it);
    return NULL;
  }
  it->ino = (fuse_ino_t)ino;
  it->fd = own;
  return it;
}

// storeDeflated(handle, ino, range[, readId, readOffset, readSize]): as store(handle, ino, 0, content)
// for a file whose content is a whole pack entry, or a delta against one, in the open file range[0]
// (get_range). It is read and inflated (and the delta applied) on the store threads, not on the
// JavaScript thread, so a walk's pushes use every core while JavaScript only routes them. The descriptor
// is duplicated here, so the caller may close its own at any time. With readId, the pending read of that
// id (of readSize bytes at readOffset) is answered from the content before it is pushed, and the file
// goes first. Content that does not come out exactly `size` bytes (a stream or delta that is damaged or
// lies) is not pushed, and reads waiting for it go to JavaScript, which reads the file itself and
// reports the damage. false when dropped (the read, if any, is then still JavaScript's to answer).
static napi_value js_store_deflated(napi_env env, napi_callback_info info) {
  ARGS(6);
  mount_t* m = get_mount(env, argv[0]);
  if (m == NULL) return NULL;
  double ino = get_double(env, argv[1]);
  bool queued = false;
  // (A file that failed is refused before its read is taken: JavaScript then reads it itself.)
  pthread_mutex_lock(&m->lock);
  int failed = recently_failed(m, (fuse_ino_t)ino);
  pthread_mutex_unlock(&m->lock);
  store_item_t* it = failed ? NULL : new_pack_item(env, m, argv[2], ino);
  waiter_t* w = it != NULL && argc >= 6 ? malloc(sizeof *w) : NULL;
  if (w != NULL) {
    *w = (waiter_t){NULL, slot_take(m, get_double(env, argv[3])), (size_t)get_double(env, argv[5]), (off_t)get_double(env, argv[4])};
  }
  if (it != NULL && (argc < 6 || (w != NULL && w->req != NULL))) {
    queued = enqueue_store(m, it, w);
  } else if (it != NULL) { /* no room for the read, or it was answered already, or not of this mount */
    close(it->fd);
    free(it);
    free(w);
  }
  napi_value out;
  napi_get_boolean(env, queued, &out);
  return out;
}

// armDeflated(handle, dirIno, ino, range): as storeDeflated, for a file of directory
// dirIno whose listing is being answered: the file is held back until the kernel asks past the
// listing's end (listing_ended), when it holds every entry's inode and a push can land, and is then
// queued here, on the loop thread, with the rest of the listing, in the order armed; a read of it before
// then queues it first. JavaScript arms a reading walk's files as it answers the listing's last chunk, so
// the pushes start the moment they can, without a crossing into JavaScript and back. false when
// dropped. releaseArmed(handle, dirIno, queue) queues what is still armed for a directory (this side
// answered the request past the end) or drops it (a listing never read to its end).
static napi_value js_arm_deflated(napi_env env, napi_callback_info info) {
  ARGS(4);
  mount_t* m = get_mount(env, argv[0]);
  if (m == NULL) return NULL;
  double dir = get_double(env, argv[1]);
  bool armed = false;
  store_item_t* it = argc == 4 && dir > 0 ? new_pack_item(env, m, argv[3], get_double(env, argv[2])) : NULL;
  if (it != NULL) {
    it->dir = (fuse_ino_t)dir;
    it->state = ITEM_ARMED;
    pthread_mutex_lock(&m->lock);
    if (!recently_failed(m, it->ino) && item_find(m, it->ino) == NULL && m->store_bytes + it->len <= STORE_QUEUE_MAX &&
        m->items < ITEMS_MAX) {
      it->next = m->armed;
      m->armed = it;
      item_hash(m, it);
      m->store_bytes += it->len;
      armed = true;
    }
    pthread_mutex_unlock(&m->lock);
    if (!armed) {
      close(it->fd);
      free(it);
    }
  }
  napi_value out;
  napi_get_boolean(env, armed, &out);
  return out;
}

static napi_value js_release_armed(napi_env env, napi_callback_info info) {
  ARGS(3);
  mount_t* m = get_mount(env, argv[0]);
  if (m == NULL) return NULL;
  bool queue = false;
  if (argc > 2) napi_get_value_bool(env, argv[2], &queue);
  release_armed(m, (fuse_ino_t)get_double(env, argv[1]), queue);
  return NULL;
}

// stored(handle, what): how many pushes the kernel has taken so far; with what 1, of storeDeflated's and
// armDeflated's only; with 2, how many reads were answered here from a file being inflated or pushed
// (which JavaScript never sees: lowlevel-ops.ts counts them as a walk's reads).
static napi_value js_stored(napi_env env, napi_callback_info info) {
  ARGS(2);
  int32_t what = 0;
  if (argc > 1) napi_get_value_int32(env, argv[1], &what);
  mount_t* m = get_mount(env, argv[0]);
  if (m == NULL) return NULL;
  pthread_mutex_lock(&m->lock);
  double n = what == 1 ? m->stores_inflated : what == 2 ? m->reads_served : m->stores_done;
  pthread_mutex_unlock(&m->lock);
  napi_value out;
  napi_create_double(env, n, &out);
  return out;
}

// storeQueued(handle): bytes given to store() and not yet taken by the kernel (queued or being pushed).
static napi_value js_store_queued(napi_env env, napi_callback_info info) {
  ARGS(1);
  mount_t* m = get_mount(env, argv[0]);
  if (m == NULL) return NULL;
  pthread_mutex_lock(&m->lock);
  double n = (double)m->store_bytes;
  pthread_mutex_unlock(&m->lock);
  napi_value out;
  napi_create_double(env, n, &out);
  return out;
}

static void fill_stat(mount_t* m, struct stat* st, double ino, double mode, double nlink, double size, double mtime_sec, double mtime_nsec) {
  memset(st, 0, sizeof *st);
  st->st_ino = (ino_t)ino;
  st->st_mode = (mode_t)mode;
  st->st_nlink = (nlink_t)nlink;
  st->st_uid = m->uid;
  st->st_gid = m->gid;
  st->st_size = (off_t)size;
  st->st_blksize = 4096;
  st->st_blocks = (blkcnt_t)((st->st_size + 511) / 512);
  st->st_mtim.tv_sec = st->st_atim.tv_sec = st->st_ctim.tv_sec = (time_t)mtime_sec;
  st->st_mtim.tv_nsec = st->st_atim.tv_nsec = st->st_ctim.tv_nsec = (long)mtime_nsec;
}

#define TAKE_REQ(idx)                              \
  mount_t* m = get_mount(env, argv[0]);            \
  if (m == NULL) return NULL;                      \
  fuse_req_t req = slot_take(m, get_double(env, argv[idx])); \
  if (req == NULL) return NULL

// replyErr(handle, id, errno)
static napi_value js_reply_err(napi_env env, napi_callback_info info) {
  ARGS(3);
  TAKE_REQ(1);
  fuse_reply_err(req, (int)get_double(env, argv[2]));
  return NULL;
}

// replyEntry(handle, id, ino, mode, nlink, size, mtimeSec, mtimeNsec); ino 0: no such name (cached for
// the negative timeout).
static napi_value js_reply_entry(napi_env env, napi_callback_info info) {
  ARGS(8);
  TAKE_REQ(1);
  struct fuse_entry_param e;
  memset(&e, 0, sizeof e);
  double ino = get_double(env, argv[2]);
  if (ino == 0) {
    e.entry_timeout = m->negative_timeout;
  } else {
    e.ino = (fuse_ino_t)ino;
    e.entry_timeout = m->entry_timeout;
    e.attr_timeout = m->attr_timeout;
    fill_stat(m, &e.attr, ino, get_double(env, argv[3]), get_double(env, argv[4]), get_double(env, argv[5]),
      get_double(env, argv[6]), get_double(env, argv[7]));
  }
  fuse_reply_entry(req, &e);
  return NULL;
}

// replyAttr(handle, id, ino, mode, nlink, size, mtimeSec, mtimeNsec)
static napi_value js_reply_attr(napi_env env, napi_callback_info info) {
  ARGS(8);
  TAKE_REQ(1);
  struct stat st;
  fill_stat(m, &st, get_double(env, argv[2]), get_double(env, argv[3]), get_double(env, argv[4]), get_double(env, argv[5]),
    get_double(env, argv[6]), get_double(env, argv[7]));
  fuse_reply_attr(req, &st, m->attr_timeout);
  return NULL;
}

// replyBuf(handle, id, bytes[, length]): read, getxattr and listxattr answers.
static napi_value js_reply_buf(napi_env env, napi_callback_info info) {
  ARGS(4);
  TAKE_REQ(1);
  void* data;
  size_t len;
  get_bytes(env, argv[2], &data, &len);
  if (argc >= 4) {
    napi_valuetype t;
    napi_typeof(env, argv[3], &t);
    if (t == napi_number) {
      double want = get_double(env, argv[3]);
      if (want >= 0 && want < (double)len) len = (size_t)want;
    }
  }
  fuse_reply_buf(req, data, len);
  return NULL;
}

// replyXattrSize(handle, id, size): the answer to getxattr/listxattr with a zero-sized buffer.
static napi_value js_reply_xattr_size(napi_env env, napi_callback_info info) {
  ARGS(3);
  TAKE_REQ(1);
  fuse_reply_xattr(req, (size_t)get_double(env, argv[2]));
  return NULL;
}

// replyReadlink(handle, id, target)
static napi_value js_reply_readlink(napi_env env, napi_callback_info info) {
  ARGS(3);
  TAKE_REQ(1);
  char* target = get_string(env, argv[2]);
  if (target == NULL) fuse_reply_err(req, ENOMEM);
  else fuse_reply_readlink(req, target);
  free(target);
  return NULL;
}

// replyStatfs(handle, id, blocks, files, bsize, namemax)
static napi_value js_reply_statfs(napi_env env, napi_callback_info info) {
  ARGS(6);
  TAKE_REQ(1);
  struct statvfs st;
  memset(&st, 0, sizeof st);
  st.f_blocks = (fsblkcnt_t)get_double(env, argv[2]);
  st.f_files = (fsfilcnt_t)get_double(env, argv[3]);
  st.f_bsize = st.f_frsize = (unsigned long)get_double(env, argv[4]);
  st.f_namemax = (unsigned long)get_double(env, argv[5]);
  st.f_flag = ST_RDONLY;
  fuse_reply_statfs(req, &st);
  return NULL;
}

// replyDir(handle, id, plus, size, firstIndex, entries, count, dirIno, last): entries packed by daemon/lowlevel-ops.ts
// (DIRENT_HEADER bytes then the name, per entry): f64 ino, u32 mode, u32 nlink, f64 size, f64 mtimeSec,
// u32 mtimeNsec, u16 nameLength. Entry i gets offset firstIndex + i + 1; as many as fit in `size` are sent.
// With `plus`, nlink 0 means no attributes: the entry goes out as a plain name. `dirIno` and `last` (the
// chunk ends the listing) let the next request, past the end, be answered here (listing_ended).
#define DIRENT_HEADER 38
static napi_value js_reply_dir(napi_env env, napi_callback_info info) {
  ARGS(9);
  TAKE_REQ(1);
  bool plus = false;
  napi_get_value_bool(env, argv[2], &plus);
  size_t size = (size_t)get_double(env, argv[3]);
  double first = get_double(env, argv[4]);
  uint8_t* data;
  size_t len;
  get_bytes(env, argv[5], (void**)&data, &len);
  uint32_t count = (uint32_t)get_double(env, argv[6]);
  char* buf = malloc(size ? size : 1);
  if (buf == NULL) {
    fuse_reply_err(req, ENOMEM);
    return NULL;
  }
  size_t used = 0, pos = 0;
  char name[4096];
  uint32_t i = 0;
  for (; i < count && pos + DIRENT_HEADER <= len; i++) {
    double ino, fsize, mtime_sec;
    uint32_t mode, nlink, mtime_nsec;
    uint16_t name_len;
    memcpy(&ino, data + pos, 8);
    memcpy(&mode, data + pos + 8, 4);
    memcpy(&nlink, data + pos + 12, 4);
    memcpy(&fsize, data + pos + 16, 8);
    memcpy(&mtime_sec, data + pos + 24, 8);
    memcpy(&mtime_nsec, data + pos + 32, 4);
    memcpy(&name_len, data + pos + 36, 2);
    pos += DIRENT_HEADER;
    if (pos + name_len > len || name_len >= sizeof name) break;
    memcpy(name, data + pos, name_len);
    name[name_len] = '\0';
    pos += name_len;
    off_t next = (off_t)(first + i + 1);
    size_t n;
    if (plus) {
      struct fuse_entry_param e;
      memset(&e, 0, sizeof e);
      fill_stat(m, &e.attr, ino, mode, nlink, fsize, mtime_sec, mtime_nsec);
      // "." and ".." carry no entry (the kernel would take a nodeid as a new reference), nor does an
      // entry whose attributes could not be had (nlink 0): the kernel looks that one up by name later.
      int dots = name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
      if (!dots && nlink != 0) {
        e.ino = (fuse_ino_t)ino;
        e.entry_timeout = m->entry_timeout;
        e.attr_timeout = m->attr_timeout;
      }
      n = fuse_add_direntry_plus(req, buf + used, size - used, name, &e, next);
    } else {
      struct stat st;
      memset(&st, 0, sizeof st);
      st.st_ino = (ino_t)ino;
      st.st_mode = mode;
      n = fuse_add_direntry(req, buf + used, size - used, name, &st, next);
    }
    if (n > size - used) break;
    used += n;
  }
  // Where this listing ends, when this chunk holds the rest of it and all of it went out (and none of
  // it when it does not: a slot left from an earlier listing of the directory must not cut this one).
  double dir_ino = argc > 7 ? get_double(env, argv[7]) : 0;
  bool last = false;
  if (argc > 8) napi_get_value_bool(env, argv[8], &last);
  if (dir_ino > 0) {
    listing_end_t* e = &m->ends[(uint64_t)dir_ino % EOF_SLOTS];
    pthread_mutex_lock(&m->lock);
    if (last && i == count && count > 0) {
      e->ino = (uint64_t)dir_ino;
      e->off = (int64_t)(first + count);
    } else if (e->ino == (uint64_t)dir_ino) {
      e->ino = 0;
    }
    pthread_mutex_unlock(&m->lock);
  }
  fuse_reply_buf(req, buf, used);
  free(buf);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  struct { const char* name; napi_callback cb; } fns[] = {
    {"mount", js_mount}, {"destroy", js_destroy}, {"ref", js_ref}, {"setTimeouts", js_set_timeouts},
    {"invalEntry", js_inval_entry}, {"invalInode", js_inval_inode}, {"store", js_store}, {"storeDeflated", js_store_deflated}, {"armDeflated", js_arm_deflated},
    {"releaseArmed", js_release_armed}, {"stored", js_stored},
    {"storeQueued", js_store_queued},
    {"replyErr", js_reply_err}, {"replyEntry", js_reply_entry}, {"replyAttr", js_reply_attr},
    {"replyBuf", js_reply_buf}, {"replyXattrSize", js_reply_xattr_size}, {"replyReadlink", js_reply_readlink},
    {"replyStatfs", js_reply_statfs}, {"replyDir", js_reply_dir},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value fn;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].cb, NULL, &fn);
    napi_set_named_property(env, exports, fns[i].name, fn);
  }
  napi_value v;
  napi_create_int32(env, DIRENT_HEADER, &v);
  napi_set_named_property(env, exports, "DIRENT_HEADER", v);
  napi_create_int32(env, FUSE_CAP_NO_OPEN_SUPPORT, &v);
  napi_set_named_property(env, exports, "CAP_NO_OPEN", v);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
