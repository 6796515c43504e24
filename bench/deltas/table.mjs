// The markdown tables the deltas benchmark prints: one per part, one row per chain or pair, medians over
// reps, ratios against git (and for upgrades against a full expand) measured in the same run.
import { median } from '../measure.mjs';

export const GOALS = { sizeRatio: 1.05, timeRatio: 1.0, deltaOverThinPack: 1.0 };

export function fmtBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1 << 30) return `${(n / (1 << 20)).toFixed(2)} MiB`;
  return `${(n / (1 << 30)).toFixed(2)} GiB`;
}

const fmtMs = (ms) => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`);
const fmtRatio = (r, goal) => (Number.isFinite(r) ? `${r.toFixed(2)}x${goal === undefined || r <= goal ? '' : ' (**miss**)'}` : '-');
const med = (xs, k) => median(xs.map((x) => x[k]));
const row = (cells) => `| ${cells.join(' | ')} |`;
const header = (cells) => [row(cells), row(cells.map(() => '---'))];

function storageRows(chains) {
  const lines = ['**Storage** (silo: objects/ + pack/; git: objects/; time: wall, CPU in brackets)', '',
    ...header(['chain', 'versions (last: files, size)', 'medo add, whole', 'medo add, delta base', 'silo repack -f', 'git repack -f --window=250',
      `size medo/git (goal <= ${GOALS.sizeRatio})`, `time medo/git (goal <= ${GOALS.timeRatio})`, 'git verify-pack'])];
  for (const c of chains) {
    const s = c.storage;
    const last = c.versions.at(-1);
    const [mb, gb, mw, gw, mc, gc] = [med(s.medo, 'bytes'), med(s.git, 'bytes'), med(s.medo, 'wallMs'), med(s.git, 'wallMs'), med(s.medo, 'cpuMs'), med(s.git, 'cpuMs')];
    lines.push(row([c.name, `${c.versions.length} (${last.files.toLocaleString('en')}, ${fmtBytes(last.size)})`, fmtBytes(s.wholeBytes), fmtBytes(s.deltaBaseBytes),
      `${fmtBytes(mb)}, ${fmtMs(mw)} (${fmtMs(mc)})`, `${fmtBytes(gb)}, ${fmtMs(gw)} (${fmtMs(gc)})`,
      fmtRatio(mb / gb, GOALS.sizeRatio), `${fmtRatio(mw / gw, GOALS.timeRatio)} (CPU ${fmtRatio(mc / gc)})`,
      s.verifyPack.every((v) => v.ok) ? 'ok' : '**FAIL**']));
  }
  return lines;
}

function transferRows(chains) {
  const lines = ['**Bytes from A to B** (a, b: nginx body bytes and requests of `medo expand B` with A in the cache)', '',
    ...header(['chain', 'A -> B', '(a) per object', '(b) static delta', '(c) git thin pack', '(d) zstd --patch-from -19',
      `(b)/(c) (goal <= ${GOALS.deltaOverThinPack})`, '(b)/(a)'])];
  for (const c of chains) {
    for (const t of c.transfer) {
      lines.push(row([c.name, `${t.from} -> ${t.to}`, `${fmtBytes(t.perObject.body)} (${t.perObject.requests})`,
        `${fmtBytes(t.staticDelta.body)} (${t.staticDelta.requests}; pack ${fmtBytes(t.staticDelta.byKind.deltaPack?.body ?? 0)})${t.staticDelta.staticDelta ? '' : ' **not used**'}`,
        fmtBytes(t.git.thinBytes), fmtBytes(t.zstd.bytes),
        fmtRatio(t.staticDelta.body / t.git.thinBytes, GOALS.deltaOverThinPack), fmtRatio(t.staticDelta.body / t.perObject.body)]));
    }
  }
  return lines;
}

function upgradeRows(chains) {
  const lines = ['**Upgrade in place** (`medo expand B DEST`, empty cache, static delta published; wall time)', '',
    ...header(['chain', 'A -> B', 'upgrade A in place', 'full expand of B', 'upgrade/full', 'bytes: upgrade / full'])];
  for (const c of chains) {
    for (const u of c.upgrade) {
      const [uw, fw] = [med(u.upgrade, 'wallMs'), med(u.full, 'wallMs')];
      lines.push(row([c.name, `${u.from} -> ${u.to}`, fmtMs(uw), fmtMs(fw), fmtRatio(uw / fw),
        `${fmtBytes(med(u.upgrade, 'body'))} / ${fmtBytes(med(u.full, 'body'))}`]));
    }
  }
  return lines;
}

/** The three tables, then the chains skipped or failed, as markdown. */
export function formatTables(result) {
  const done = result.chains.filter((c) => c.storage !== undefined && c.upgrade !== undefined);
  const lines = [...storageRows(done), '', ...transferRows(done), '', ...upgradeRows(done)];
  const notes = [...result.chains.filter((x) => x.skipped !== undefined).map((c) => `- ${c.name}: skipped: ${c.skipped}`),
    ...result.problems.map((p) => `- **problem**: ${p}`)];
  if (notes.length > 0) lines.push('', ...notes);
  return `${lines.join('\n')}\n`;
}
