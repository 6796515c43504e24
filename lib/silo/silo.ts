// A silo: the data plane, a plain directory any static web server, rsync or rclone can carry.
//   medo-silo.json           marker: {"format": "medo-silo", "version": 1}
//   objects/xx/<38 hex>.gz   gzip of the raw content (no git header), named by git's id of that content
//                            as a blob or as a tree, so `curl URL | gunzip` gives the file itself
//   pack/pack-*.pack, .idx   git pack v2 and idx v2
//   derived/                 reserved for derived forms (other deltas, compression, images)
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { MedoError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { ObjectDir, type LooseFormat, type ObjectDirOptions } from '../object-dir.js';
import { hashObject, type ObjectType } from '../oid.js';
import { PackWriter, type PackWriterOptions } from '../git/pack-writer.js';

export const SILO_MARKER = 'medo-silo.json';
export const SILO_FORMAT = 'medo-silo';
export const SILO_VERSION = 1;

/** Loose silo objects carry no type: it is the one (blob or tree) under which the content hashes to its name. */
export function identifyLooseContent(content: Buffer, oid: string): 'blob' | 'tree' | undefined {
  if (hashObject('blob', content) === oid) return 'blob';
  if (hashObject('tree', content) === oid) return 'tree';
  return undefined;
}

export const siloLooseFormat: LooseFormat = {
  path: (root, oid) => join(root, 'objects', oid.slice(0, 2), `${oid.slice(2)}.gz`),
  parse(bytes, oid, path, limits) {
    let content: Buffer;
    try {
      content = gunzipSync(bytes, { maxOutputLength: Math.min(limits.maxObjectSize, bytes.length * 1032 + 64) || 1 });
    } catch (e) {
      throw new MedoError('ERR_OBJECT_CORRUPT', `${path}: bad gzip data or over the size limit (${(e as Error).message})`,
        { oid, path }, { cause: e });
    }
    const type = identifyLooseContent(content, oid);
    if (type === undefined) {
      throw new MedoError('ERR_OBJECT_CORRUPT', `${path}: content hashes to neither blob nor tree ${oid}`, { oid, path });
    }
    return { type, content };
  },
};

export function isSilo(dir: string): boolean {
  try {
    return statSync(join(dir, SILO_MARKER)).isFile();
  } catch {
    return false;
  }
}

function readMarker(dir: string): void {
  const path = join(dir, SILO_MARKER);
  let marker: unknown;
  try {
    marker = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new MedoError(missing ? 'ERR_STORE_NOT_FOUND' : 'ERR_SILO_CORRUPT',
      missing ? `${dir} is not a silo (no ${SILO_MARKER}; create one with 'silo init')` : `${path} is not valid JSON: ${(e as Error).message}`,
      { path }, { cause: e });
  }
  const m = marker as { format?: unknown; version?: unknown };
  if (typeof m !== 'object' || m === null || m.format !== SILO_FORMAT) {
    throw new MedoError('ERR_SILO_CORRUPT', `${path}: "format" must be "${SILO_FORMAT}"`, { path });
  }
  if (m.version !== SILO_VERSION) {
    throw new MedoError('ERR_SILO_CORRUPT', `${path}: unsupported silo version ${JSON.stringify(m.version)} (this medo reads ${SILO_VERSION})`, { path });
  }
}

export class Silo extends ObjectDir {
  private constructor(path: string, options: ObjectDirOptions) {
    super(path, join(path, 'pack'), siloLooseFormat, options);
    this.external ??= (oid) => this.read(oid);
  }

  static open(dir: string, options: ObjectDirOptions = {}): Silo {
    readMarker(dir);
    return new Silo(dir, options);
  }

  /** Creates the layout (idempotent on an existing silo) and opens it. */
  static init(dir: string, options: ObjectDirOptions = {}): Silo {
    for (const sub of ['objects', 'pack', 'derived']) mkdirSync(join(dir, sub), { recursive: true });
    if (!isSilo(dir)) {
      writeFileAtomic(join(dir, SILO_MARKER), `${JSON.stringify({ format: SILO_FORMAT, version: SILO_VERSION })}\n`);
    }
    return Silo.open(dir, options);
  }

  /** Stores `content` as a loose `.gz` object unless the silo already holds it. */
  writeLoose(type: 'blob' | 'tree', content: Buffer, knownOid?: string): { oid: string; written: boolean } {
    const oid = knownOid ?? hashObject(type, content);
    if (this.has(oid)) return { oid, written: false };
    const file = this.loose.path(this.path, oid);
    mkdirSync(join(this.path, 'objects', oid.slice(0, 2)), { recursive: true });
    writeFileAtomic(file, gzipSync(content));
    return { oid, written: true };
  }

  /** A pack writer into this silo that skips objects the silo already holds. */
  packWriter(options: PackWriterOptions = {}): PackWriter {
    return new PackWriter(join(this.path, 'pack'), { skip: (oid) => this.has(oid), ...options });
  }
}

export type { ObjectType };
