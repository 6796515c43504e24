// Derived forms of a tree, made ahead of time under the silo's derived/forms/ for those who do not run
// medo: a tarball (`.tar.gz`, `.tar.zst`) for `docker build` and plain curl, a SquashFS or EROFS image for
// hosts that mount with the kernel. Each is made by the tool its users have (GNU tar with gzip or zstd,
// Debian's squashfs-tools, erofs-utils) from the tree expanded into a scratch directory, and checked before
// it is published: it is unpacked again with the matching tool (tar -x, unsquashfs, fsck.erofs --extract)
// and that copy must hold exactly the tree (lib/medo/verify-dir.ts: every blob id, mode and mtime).
//
//   derived/forms/<TREE>.<ext>        the form itself
//   derived/forms/<TREE>.<ext>.json   its record: {"format": "medo-derived", "version": 1, "tree", "meta",
//                                     "form", "file", "bytes", "sha256", "tool"}
// The file goes in first (written to a temp name, fsynced, renamed), then its record: a record names only
// a complete file.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MedoError } from '../errors.js';
import { fsyncDir, writeFileAtomic } from '../io/atomic-write.js';
import { canonicalJson } from '../medo/canonical-json.js';
import { expandTargets } from '../medo/expand.js';
import { JsonChecker } from '../medo/json-check.js';
import type { Target } from '../medo/resolve-target.js';
import { verifyTargets } from '../medo/verify-dir.js';
import { announceAdd } from './lock.js';
import type { ObjectStore } from '../store.js';

export const FORMS_DIR = join('derived', 'forms');
export const DERIVED_FORMAT = 'medo-derived';

export type Form = 'tar.gz' | 'tar.zst' | 'squashfs' | 'erofs';
export const FORMS: readonly Form[] = ['tar.gz', 'tar.zst', 'squashfs', 'erofs'];

export interface DerivedRecord {
  tree: string;
  meta?: string;
  form: Form;
  /** The form's path relative to the silo root. */
  file: string;
  bytes: number;
  sha256: string;
  /** The tool and its version line, as it reported itself. */
  tool: string;
}

const EXT: Record<Form, string> = { 'tar.gz': 'tar.gz', 'tar.zst': 'tar.zst', squashfs: 'sqfs', erofs: 'erofs' };
/** Debian's package for each form's tools, for the error when one is missing. */
const PACKAGE: Record<Form, string> = { 'tar.gz': 'tar and gzip', 'tar.zst': 'tar and zstd', squashfs: 'squashfs-tools', erofs: 'erofs-utils' };

export const formFile = (tree: string, form: Form): string => join(FORMS_DIR, `${tree}.${EXT[form]}`);

function run(cmd: string, args: readonly string[], form: Form): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => out.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT'
      ? new MedoError('ERR_USAGE', `${form}: ${cmd} is not installed (Debian: apt-get install ${PACKAGE[form]})`, {}, { cause: e })
      : e));
    child.on('close', (code) => {
      const said = Buffer.concat(out).toString('utf8');
      if (code === 0) resolve(said);
      else reject(new MedoError('ERR_INTERNAL', `${form}: ${cmd} ${args.join(' ')} failed (exit ${code}): ${said.trim().split('\n').slice(-3).join(' / ')}`));
    });
  });
}

const firstLine = (s: string): string => s.trim().split('\n')[0]!.trim();

/** The form of `src` (a directory) at `out`; returns the tool's name and version. */
async function make(form: Form, src: string, out: string): Promise<string> {
  switch (form) {
    case 'tar.gz':
    case 'tar.zst': {
      // Reproducible: sorted names, numeric root ownership, no atime/ctime in pax headers.
      const compress = form === 'tar.gz' ? 'gzip -n -9' : 'zstd -q -19 -T0';
      await run('bash', ['-o', 'pipefail', '-c',
        `tar --sort=name --format=posix --pax-option=delete=atime,delete=ctime --numeric-owner --owner=0 --group=0 -C "$1" -cf - . | ${compress} > "$2"`,
        'tar', src, out], form);
      return `${firstLine(await run('tar', ['--version'], form))}; ${firstLine(await run(form === 'tar.gz' ? 'gzip' : 'zstd', ['--version'], form))}`;
    }
    case 'squashfs':
      await run('mksquashfs', [src, out, '-noappend', '-all-root', '-no-progress', '-quiet', '-comp', 'zstd'], form);
      return firstLine(await run('mksquashfs', ['-version'], form));
    case 'erofs': {
      // mkfs.erofs has no --version; it names itself and its version as it starts.
      const said = await run('mkfs.erofs', ['--all-root', '-zlz4hc', out, src], form);
      return said.split('\n').find((l) => /^mkfs\.erofs \S*\d/.test(l))?.trim() ?? 'mkfs.erofs';
    }
  }
}

/** Unpacks the form at `file` into the empty directory `dir`, with the form's own tool. */
async function unpack(form: Form, file: string, dir: string): Promise<void> {
  switch (form) {
    case 'tar.gz':
    case 'tar.zst':
      await run('tar', ['-xf', file, '-C', dir, '--numeric-owner', form === 'tar.gz' ? '--gzip' : '--zstd'], form);
      return;
    case 'squashfs':
      rmSync(dir, { recursive: true }); // unsquashfs makes its destination itself
      await run('unsquashfs', ['-no-progress', '-quiet', '-d', dir, file], form);
      return;
    case 'erofs':
      await run('fsck.erofs', [`--extract=${dir}`, '--force', '--preserve', file], form);
  }
}

async function sha256Of(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export interface DeriveRequest {
  siloRoot: string;
  /** The tree, resolved from its .treeptr (a single target: rel ''). */
  target: Target;
  store: ObjectStore;
  form: Form;
}

/** Makes, checks and publishes one derived form; returns its record. */
export async function derive(req: DeriveRequest): Promise<DerivedRecord> {
  const tree = req.target.treeptr.tree;
  if (tree === undefined) throw new MedoError('ERR_USAGE', `${req.target.file} names a blob: derived forms are of trees`, { path: req.target.file });
  const formsDir = join(req.siloRoot, FORMS_DIR);
  mkdirSync(formsDir, { recursive: true });
  // Announced as a running add: `silo gc --prune` spares what was written since it began, its scratch
  // directory included, however long the expand and the tool take.
  const announced = announceAdd(req.siloRoot, `silo derive ${req.form} ${req.target.file}`);
  const scratch = mkdtempSync(join(formsDir, '.derive-'));
  try {
    const src = join(scratch, 'tree');
    const back = join(scratch, 'check');
    mkdirSync(back);
    await expandTargets([req.target], req.store, src, { threads: 0 });
    const tmp = join(scratch, `out.${EXT[req.form]}`);
    const tool = await make(req.form, src, tmp);
    await unpack(req.form, tmp, back);
    // SquashFS keeps mtimes to the second (its inodes hold 32-bit seconds); the others keep nanoseconds.
    const check = await verifyTargets([req.target], req.store, back, { threads: 0, mtimeSeconds: req.form === 'squashfs' });
    if (!check.ok) {
      const first = check.differences.slice(0, 3).map((d) => `${d.kind} ${d.path || '.'}`).join(', ');
      throw new MedoError('ERR_INTERNAL', `${req.form} of tree ${tree} does not unpack to the tree (${check.differences.length} differences: ${first}); not published`, { oid: tree });
    }
    const file = formFile(tree, req.form);
    const record: DerivedRecord = { tree, ...(req.target.treeptr.meta === undefined ? {} : { meta: req.target.treeptr.meta }), form: req.form,
      file, bytes: statSync(tmp).size, sha256: await sha256Of(tmp), tool };
    fsyncPath(tmp);
    renameSync(tmp, join(req.siloRoot, file));
    fsyncDir(formsDir);
    writeFileAtomic(join(req.siloRoot, `${file}.json`), serializeRecord(record));
    return record;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    announced.release();
  }
}

function serializeRecord(r: DerivedRecord): string {
  return canonicalJson({ format: DERIVED_FORMAT, version: 1, ...r }, ['format', 'version', 'tree', 'meta', 'form', 'file', 'bytes', 'sha256', 'tool']);
}

export function parseRecord(text: string, where: string): DerivedRecord {
  const c = new JsonChecker(where, 'ERR_SILO_CORRUPT');
  const j = c.parse(text);
  if (j.format !== DERIVED_FORMAT) c.fail('format', `must be "${DERIVED_FORMAT}"`);
  if (j.version !== 1) c.fail('version', 'must be 1');
  const form = c.string('form', j.form) as Form;
  if (!FORMS.includes(form)) c.fail('form', `must be one of ${FORMS.join(', ')}`);
  const tree = c.matching('tree', j.tree, /^[0-9a-f]{40}$/, 'a 40-digit object id');
  const file = c.string('file', j.file);
  if (file !== formFile(tree, form)) c.fail('file', `must be ${formFile(tree, form)}`);
  const r: DerivedRecord = { tree, form, file, bytes: c.count('bytes', j.bytes), sha256: c.matching('sha256', j.sha256, /^[0-9a-f]{64}$/, '64 hex digits'),
    tool: c.string('tool', j.tool) };
  if (j.meta !== undefined) r.meta = c.matching('meta', j.meta, /^[0-9a-f]{40}$/, 'a 40-digit object id');
  return r;
}

/** The derived forms a silo holds of `tree`, from their records, whose files exist. */
export function derivedOf(siloRoot: string, tree: string): DerivedRecord[] {
  const dir = join(siloRoot, FORMS_DIR);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: DerivedRecord[] = [];
  for (const n of names.sort()) {
    if (!n.startsWith(`${tree}.`) || !n.endsWith('.json')) continue;
    const r = parseRecord(readFileSync(join(dir, n), 'utf8'), join(dir, n));
    if (existsSync(join(siloRoot, r.file))) out.push(r);
  }
  return out;
}
