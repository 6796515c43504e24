// A read-only passthrough file system that fails reads on command, in the spirit of device-mapper's
// `error` and `flakey` targets (which need the kernel's dm driver: this machine's kernel has none), run
// as its own process over libfuse 2 with the project's fallback binding:
//
//   node test/helpers/faulty-fs.cjs SRC MNT RULES.json
//
// RULES.json, read again whenever it changes: {"rules": [{"file": "pack/pack-X.pack", "from": 1000,
// "to": 2000}, {"file": "objects/ab/cdef.gz", "every": 2}]}. A read of `file` that overlaps [from, to)
// fails with EIO (a bad stretch of disk, like `error`); with `every: N` every Nth read of it fails
// (like `flakey`). Reads bypass the page cache (direct_io), so every read the reader makes is seen here.
// Prints "ready" on stdout once mounted; keeps the count of reads it failed in RULES.json.failed;
// SIGTERM unmounts.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const Fuse = require('@cocalc/fuse-native');

const [src, mnt, rulesPath] = process.argv.slice(2);
if (src === undefined || mnt === undefined || rulesPath === undefined) {
  process.stderr.write('usage: node faulty-fs.cjs SRC MNT RULES.json\n');
  process.exit(2);
}

let rules = [];
let rulesStamp = -1;
const readsOf = new Map();
let failures = 0;

function currentRules() {
  let st;
  try {
    st = fs.statSync(rulesPath);
  } catch {
    return rules;
  }
  if (st.mtimeMs !== rulesStamp) {
    rulesStamp = st.mtimeMs;
    rules = JSON.parse(fs.readFileSync(rulesPath, 'utf8')).rules;
  }
  return rules;
}

function fails(rel, offset, len) {
  const n = (readsOf.get(rel) ?? 0) + 1;
  readsOf.set(rel, n);
  for (const r of currentRules()) {
    if (r.file !== rel) continue;
    if (r.every !== undefined && n % r.every === 0) return true;
    if (r.from !== undefined && offset < r.to && offset + len > r.from) return true;
  }
  return false;
}

const real = (p) => path.join(src, p);
const errno = (e) => (typeof e.errno === 'number' ? e.errno : Fuse.EIO);

const ops = {
  getattr(p, cb) {
    fs.lstat(real(p), (e, st) => (e ? cb(errno(e)) : cb(0, st)));
  },
  readdir(p, cb) {
    fs.readdir(real(p), (e, names) => (e ? cb(errno(e)) : cb(0, names)));
  },
  readlink(p, cb) {
    fs.readlink(real(p), (e, target) => (e ? cb(errno(e)) : cb(0, target)));
  },
  open(p, flags, cb) {
    if ((flags & 3) !== 0) return cb(Fuse.EROFS);
    fs.open(real(p), 'r', (e, fd) => (e ? cb(errno(e)) : cb(0, fd)));
  },
  release(p, fd, cb) {
    fs.close(fd, () => cb(0));
  },
  read(p, fd, buf, len, pos, cb) {
    if (fails(p.slice(1), pos, len)) {
      failures++;
      fs.writeFileSync(`${rulesPath}.failed`, `${failures}\n`);
      if (process.env.FAULTY_FS_TRACE) process.stderr.write(`faulty-fs: EIO for ${p} [${pos}, ${pos + len})\n`);
      return cb(Fuse.EIO);
    }
    fs.read(fd, buf, 0, len, pos, (e, n) => (e ? cb(errno(e)) : cb(n)));
  },
};

class FaultyFuse extends Fuse {
  _fuseOptions() {
    const base = super._fuseOptions();
    return base === '' ? '-odirect_io,ro' : `${base},direct_io,ro`;
  }
}

const fuse = new FaultyFuse(mnt, ops, { force: true });
fuse.mount((err) => {
  if (err) {
    process.stderr.write(`faulty-fs: mount failed: ${err.message}\n`);
    process.exit(1);
  }
  process.stdout.write('ready\n');
});
process.on('SIGTERM', () => {
  fuse.unmount(() => process.exit(0));
});
