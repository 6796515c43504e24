// `medo url-for`: where each silo keeps a .treeptr's objects, as paths or URLs and pack byte ranges.
import { MedoError } from '../../lib/errors.js';
import { urlFor, type Location, type ObjectLocations } from '../../lib/medo/url-for.js';
import type { Command } from '../command.js';
import { EXIT_OK, parse, usage } from '../run.js';

function formatLocation(l: Location): string {
  if (l.kind === 'loose') return `  loose ${l.location}${l.checked ? '' : ' (unchecked candidate)'}`;
  const base = l.entry === 'ofs-delta' ? ` base-offset=${l.baseOffset}` : l.entry === 'ref-delta' ? ` base=${l.baseOid}` : '';
  return `  pack  ${l.location} offset=${l.offset} length=${l.length} data=${l.dataOffset}+${l.dataLength} ${l.entry}${base}`;
}

function formatObject(o: ObjectLocations): string {
  const what = o.role === 'root' ? '(root)' : o.role === 'meta' ? '(meta)' : o.path;
  const lines = [`${o.type} ${o.oid} ${what}`, ...o.locations.map(formatLocation)];
  if (o.locations.length === 0) lines.push('  (in no silo)');
  return `${lines.join('\n')}\n`;
}

function parseMirrors(specs: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of specs) {
    const m = /^(https?:\/\/[^=]+)=(.+)$/.exec(s);
    if (!m) usage(`--mirror wants URL=DIR (an http(s) silo URL from SILO.json and a local copy of it), got ${JSON.stringify(s)}`);
    out.set(m[1]!, m[2]!);
  }
  return out;
}

export const urlForCommand: Command = {
  name: 'url-for',
  help: `usage: medo url-for [--all] [--json] [--mirror URL=DIR]... TREEPTR

For each silo in SILO.json order, where the object the .treeptr names (its tree or blob) is kept:
  loose  <silo>/objects/xx/<38 hex>.gz, gzip of the content: 'curl URL | gunzip' (or 'gunzip < PATH')
         gives the file, or the raw tree object
  pack   the .pack, and the entry's byte range: length bytes at offset (entry header + zlib data); the
         zlib data alone is data=START+LENGTH. 'whole' entries inflate to the content; 'ofs-delta' and
         'ref-delta' entries to a git delta against the named base.
Local silos are looked at; paths are printed. A remote (http/https) silo is not contacted (url-for
stays offline; medo prefetch fetches): its loose URL is printed as an unchecked candidate and its packs stay unknown, unless
--mirror URL=DIR names a local copy of that silo, which is then looked at instead and answered with URLs
(true as far as the copy is current). Then the tree's derived forms that those silos hold ('silo derive':
tarballs, SquashFS and EROFS images), one line each: 'derived FORM LOCATION BYTES sha256=HEX'. Notes
about silos go to stderr.

--all   list every object of the tree (subtrees, blobs) and the metadata sidecar, not only the root
--json  print {treeptr, medoDir, objects: [{oid, type, role, path, locations: [{silo, kind, location,
        checked, idx, offset, length, dataOffset, dataLength, entry, baseOffset, baseOid}]}],
        derived: [{silo, form, location, bytes, sha256}], notes}

Exit 3 when an object is in no silo and no remote silo could hold it.
`,
  run(args) {
    const { values, positionals } = parse({
      args,
      allowPositionals: true,
      options: { all: { type: 'boolean' }, json: { type: 'boolean' }, mirror: { type: 'string', multiple: true } },
    });
    if (positionals.length !== 1) usage('url-for takes one .treeptr');
    const r = urlFor(positionals[0]!, { all: values.all ?? false, mirrors: parseMirrors(values.mirror ?? []) });
    if (values.json) {
      process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    } else {
      process.stdout.write(r.objects.map(formatObject).join(''));
      process.stdout.write(r.derived.map((d) => `derived ${d.form} ${d.location} ${d.bytes} sha256=${d.sha256}\n`).join(''));
      for (const n of r.notes) process.stderr.write(`medo: note: ${n}\n`);
    }
    const nowhere = r.objects.filter((o) => o.locations.length === 0);
    if (nowhere.length > 0) {
      throw new MedoError('ERR_OBJECT_MISSING', `${nowhere.length} object${nowhere.length === 1 ? ' is' : 's are'} in no silo of ${r.medoDir}: ` +
        `${nowhere.slice(0, 5).map((o) => o.oid).join(', ')}${nowhere.length > 5 ? ', ...' : ''}`, { oid: nowhere[0]!.oid });
    }
    return EXIT_OK;
  },
};
