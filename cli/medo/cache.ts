// `medo cache status|clean`: the host's cache of remote silos (lib/remote/cache.ts).
import { cacheDirFrom, cacheStatus, cleanCache, parseSize } from '../../lib/remote/cache.js';
import { isSilo } from '../../lib/silo/silo.js';
import type { Command } from '../command.js';
import { formatBytes } from '../progress.js';
import { EXIT_OK, parse, usage } from '../run.js';

export const cacheCommand: Command = {
  name: 'cache',
  help: `usage: medo cache status [--cache-dir DIR] [--json]
       medo cache clean [--cache-dir DIR] [--max-size SIZE]

The cache (default $MEDO_CACHE_DIR, else /var/cache/medo) is a silo of objects fetched from remote
silos, each checked against its id, whole packs fetched with --whole-packs (each object checked), plus
the .idx files of remote packs.
status  objects and bytes held
clean   evict the least recently used objects (and whole packs) until they take at most SIZE (like
        500M, 10G; default 0: everything). Objects a live process lists in DIR/pins/<pid> are never
        evicted. Evicted objects are fetched again when next needed.
`,
  run(args) {
    const { values, positionals } = parse({
      args, allowPositionals: true,
      options: { 'cache-dir': { type: 'string' }, 'max-size': { type: 'string' }, json: { type: 'boolean' } },
    });
    const [verb, ...rest] = positionals;
    if (rest.length > 0 || (verb !== 'status' && verb !== 'clean')) usage('cache takes "status" or "clean"');
    const dir = cacheDirFrom(values['cache-dir']);
    if (verb === 'status') {
      if (values['max-size'] !== undefined) usage('--max-size applies to "cache clean"');
      const s = isSilo(dir) ? cacheStatus(dir) : { dir, objects: 0, objectBytes: 0, packs: 0, packBytes: 0, idxFiles: 0, idxBytes: 0 };
      if (values.json) process.stdout.write(`${JSON.stringify(s)}\n`);
      else process.stdout.write(`${dir}: ${s.objects} objects (${formatBytes(s.objectBytes)}), ${s.packs} whole packs (${formatBytes(s.packBytes)}), ${s.idxFiles} remote pack indexes (${formatBytes(s.idxBytes)})\n`);
      return EXIT_OK;
    }
    const max = values['max-size'] === undefined ? 0 : parseSize(values['max-size'], '--max-size');
    if (!isSilo(dir)) {
      process.stdout.write(`${dir}: no cache\n`);
      return EXIT_OK;
    }
    const r = cleanCache(dir, max);
    if (values.json) process.stdout.write(`${JSON.stringify(r)}\n`);
    else process.stdout.write(`removed ${r.removed} objects and packs (${formatBytes(r.removedBytes)}); ${formatBytes(r.keptBytes)} kept${r.pinnedKept ? `, ${r.pinnedKept} pinned` : ''}\n`);
    return EXIT_OK;
  },
};
