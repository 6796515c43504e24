// `silo publish`: make a silo servable as-is by a static web server (docs/remote.md), and with
// --browser put the silo browser into it (docs/browser.md).
import { BROWSER_DIR, publishBrowser } from '../../lib/silo/browser.js';
import { writePackList, PACK_LIST } from '../../lib/silo/pack-list.js';
import { Silo } from '../../lib/silo/silo.js';
import type { Command } from '../command.js';
import { EXIT_OK, parse, usage } from '../run.js';

export const publishCommand: Command = {
  name: 'publish',
  help: `usage: silo publish [--browser [--medo DIR]...] SILO

Static web servers do not list directories, so readers of a remote silo learn its packs from
SILO/${PACK_LIST}. 'medo add', 'silo gc' and 'silo repack' keep it current; run this after copying
packs in by other means (rsync, rclone), and as the last step of publishing (docs/remote.md).

  --browser    also write the silo browser into SILO/${BROWSER_DIR}/: a static page that reads the silo
               over HTTP (packs by Range requests, inflated in the browser) and shows its wedges, their
               trees, files and differences. Open http://HOST/PATH-TO-SILO/${BROWSER_DIR}/ (docs/browser.md)
  --medo DIR   a medo directory whose .treeptr files (and their git history) the page lists; repeatable.
               Run publish again after adding to it
`,
  run(args) {
    const { values, positionals } = parse({
      args, allowPositionals: true,
      options: { browser: { type: 'boolean' }, medo: { type: 'string', multiple: true } },
    });
    if (positionals.length !== 1) usage('publish takes one silo');
    const medo = (values.medo as string[] | undefined) ?? [];
    if (medo.length > 0 && values.browser !== true) usage('--medo goes with --browser');
    const silo = Silo.open(positionals[0]!);
    silo.close();
    const entries = writePackList(positionals[0]!);
    process.stdout.write(`${positionals[0]}/${PACK_LIST}: ${entries.length} pack(s)\n`);
    if (values.browser === true) {
      const catalog = publishBrowser(positionals[0]!, medo);
      process.stdout.write(`${positionals[0]}/${BROWSER_DIR}/: the silo browser, listing ${catalog.wedges.length} .treeptr file(s)\n`);
    }
    return EXIT_OK;
  },
};
