// The results as markdown tables: the goals first (pass/fail per medo backend), then every file-system row
// (median wall time and ratio to the local disk), CPU time, the tool comparisons, memory, and notes.
import { verdicts } from './goals.mjs';
import { fmtMB, fmtMs, fmtRatio, summarize } from './stats.mjs';

const cellText = (c) => String(c).replaceAll('|', '\\|');
const table = (head, rows) => [head, head.map(() => '---'), ...rows].map((r) => `| ${r.map(cellText).join(' | ')} |`).join('\n');
// CPU times come in clock ticks of 10 ms: a ratio of two small ones says nothing.
const MIN_CPU_FOR_RATIO_MS = 200;
const verdictText = (p) => (p === null ? 'n/a' : p ? 'pass' : '**FAIL**');

function goalValue(v, row, ds) {
  const cell = row.peers[v.peer];
  const s = summarize(cell);
  const local = v.base;
  switch (v.kind) {
    case 'mountMs': return fmtMs(s.serverMs);
    case 'readyMs': return fmtMs(s.wallMs);
    case 'ratio': return s.wallMs !== null && local ? fmtRatio(s.wallMs / local) : '-';
    case 'vs': return `${fmtMs(s.wallMs)} vs ${fmtMs(summarize(row.peers[v.other]).wallMs)}`;
    case 'mbps': return s.wallMs ? `${(ds.bytes / 1e6 / (s.wallMs / 1000)).toFixed(0)} MB/s` : '-';
    case 'rss': return fmtMB(cell.peakRss);
    case 'pyc': return cell.pyc ? `${cell.pyc.recompiled} recompiled, ${cell.pyc.fromPyc} from .pyc` : '-';
    default: return '-';
  }
}

export function renderMarkdown({ meta, datasets, rows, wls, fsPeers, medoPeers }) {
  const byName = Object.fromEntries(datasets.map((d) => [d.name, d]));
  const wlByName = Object.fromEntries(wls.map((w) => [w.name, w]));
  const out = [];
  out.push('# medo benchmark suite: results', '');
  out.push(`${meta.date}; ${meta.cpus} CPUs (${meta.cpuModel}), ${meta.memGiB} GiB, Linux ${meta.kernel}, Node ${meta.node}; medo ${meta.commit}.`);
  out.push(`Options: ${meta.argv || '(defaults)'}; every figure is the median of ${meta.runs} run${meta.runs === 1 ? '' : 's'}${meta.quick ? ' (--quick: small subsets)' : ''}.`);
  out.push(`Load average (1 min) ${meta.load.start.toFixed(1)} at the start, ${meta.load.end.toFixed(1)} at the end: other work on the machine slows FUSE round trips most; compare within a row.`);
  out.push(`FUSE backends measured: ${medoPeers.map((p) => p.backend).join(', ') || 'none'}${meta.skipped.length ? `; skipped: ${meta.skipped.map((s) => `${s.backend} (${s.reason})`).join('; ')}` : ''}.`, '');
  out.push(table(['dataset', 'what', 'files', 'size', 'silo (packs)', 'squashfs image', 'source'], datasets.map((d) => [
    d.name, d.what, String(d.files), fmtMB(d.bytes), fmtMB(d.siloBytes), fmtMB(d.imageBytes), d.source,
  ])), '');

  // Goals.
  const goalRows = [];
  for (const row of rows) {
    const wl = wlByName[row.workload];
    const vs = verdicts(wl, row, byName[row.dataset], rows);
    const byGoal = new Map();
    for (const v of vs) {
      const g = wl.goals.find((x) => x.text === v.goal);
      v.kind = g.kind;
      v.other = g.peer;
      if (!byGoal.has(v.goal)) byGoal.set(v.goal, []);
      byGoal.get(v.goal).push(v);
    }
    row.verdicts = vs;
    for (const [goal, list] of byGoal) {
      goalRows.push([`${row.workload}: ${goal}`, `${row.dataset}, ${row.state}`,
        ...medoPeers.map((p) => {
          const v = list.find((x) => x.peer === p.name);
          return v ? `${verdictText(v.pass)} (${goalValue(v, row, byName[row.dataset])})` : '-';
        })]);
    }
  }
  out.push('## Goals', '');
  out.push(goalRows.length ? table(['goal', 'where', ...medoPeers.map((p) => p.label)], goalRows) : 'No goal applies to what was measured.', '');

  // File-system rows: wall time and CPU time.
  const fsRows = rows.filter((r) => wlByName[r.workload].kind !== 'tool');
  const hasGit = fsRows.some((r) => r.peers.git);
  const cols = [...fsPeers, ...(hasGit ? [{ name: 'git', label: 'git archive' }] : [])];
  for (const metric of ['wallMs', 'cpuMs']) {
    const lines = [];
    for (const row of fsRows) {
      const wl = wlByName[row.workload];
      if (wl.kind === 'mount' && metric === 'cpuMs') continue;
      const ds = byName[row.dataset];
      const local = summarize(row.peers.local)[metric];
      const cells = cols.map((p) => {
        const cell = row.peers[p.name];
        if (!cell) return '';
        if (cell.error) return 'failed';
        const s = summarize(cell);
        if (wl.kind === 'mount') return s.serverMs !== null ? `${fmtMs(s.serverMs)} / ${fmtMs(s.wallMs)}` : fmtMs(s.wallMs);
        // CPU times are counted in 10 ms clock ticks.
        let text = metric === 'cpuMs' && s.cpuMs === 0 ? '< 10 ms' : fmtMs(s[metric]);
        if (wl.throughput && metric === 'wallMs' && s.wallMs) text += `, ${(ds.bytes / 1e6 / (s.wallMs / 1000)).toFixed(0)} MB/s`;
        const meaningful = metric === 'wallMs' || local >= MIN_CPU_FOR_RATIO_MS;
        if (p.name !== 'local' && local && meaningful && s[metric] !== null) text += ` (${fmtRatio(s[metric] / local)})`;
        return text;
      });
      let goals = null;
      if (metric === 'wallMs') {
        const byGoal = new Map();
        for (const v of row.verdicts ?? []) byGoal.set(v.goal, [...(byGoal.get(v.goal) ?? []), `${v.peer.replace('medo-', '')} ${verdictText(v.pass)}`]);
        goals = [...byGoal].map(([g, list]) => `${g}: ${list.join(', ')}`).join('; ');
      }
      lines.push([row.dataset, wl.label, row.state, ...cells, ...(goals === null ? [] : [goals])]);
      if (metric === 'wallMs' && wl.pycCheck && row.state === 'warm') {
        lines.push([row.dataset, '.pyc recompiled / loaded (python -v)', row.state,
          ...cols.map((p) => (row.peers[p.name]?.pyc ? `${row.peers[p.name].pyc.recompiled} / ${row.peers[p.name].pyc.fromPyc}` : '')), '']);
      }
    }
    if (metric === 'wallMs') {
      out.push('## File-system workloads: median wall time (ratio to the local disk)', '');
      if (fsRows.some((r) => r.workload === 'mount')) out.push('Mount rows show, for medo, the time the serving process took until the mount answered / the time from starting `medo mount --foreground` until it said ready (Node start-up included).', '');
      out.push(table(['dataset', 'workload', 'state', ...cols.map((p) => p.label), 'goals'], lines), '');
    } else {
      out.push('## File-system workloads: median CPU time, command + serving process (ratio to the local disk)', '');
      out.push(table(['dataset', 'workload', 'state', ...cols.map((p) => p.label)], lines), '');
    }
  }

  // Tools.
  const toolRows = rows.filter((r) => wlByName[r.workload].kind === 'tool');
  if (toolRows.length) {
    out.push('## Tools: median wall time and CPU time (ratio to the first)', '');
    const width = Math.max(...toolRows.map((r) => wlByName[r.workload].tools.length));
    out.push(table(['dataset', 'task', 'state', ...Array.from({ length: width }, (_, i) => (i === 0 ? 'baseline' : 'compared'))], toolRows.map((row) => {
      const wl = wlByName[row.workload];
      const base = summarize(row.peers[wl.tools[0].name]);
      return [row.dataset, wl.label, row.state, ...wl.tools.map((t, i) => {
        const cell = row.peers[t.name];
        if (cell.error) return `${t.label}: failed`;
        const s = summarize(cell);
        const r = (m) => (i > 0 && base[m] && s[m] !== null ? `, ${fmtRatio(s[m] / base[m])}` : '');
        return `${t.label}: ${fmtMs(s.wallMs)}${r('wallMs')}; cpu ${fmtMs(s.cpuMs)}${r('cpuMs')}`;
      })];
    })), '');
  }

  // Memory.
  const mem = rows.filter((r) => Object.values(r.peers).some((c) => typeof c.peakRss === 'number'));
  if (mem.length) {
    out.push('## Memory: peak RSS (VmHWM) of the serving process after a warm-up tar and the timed tar passes', '');
    const mounts = fsPeers.filter((p) => p.kind === 'mount');
    out.push(table(['dataset', ...mounts.map((p) => p.label), 'goal'], mem.map((r) => [r.dataset, ...mounts.map((p) => fmtMB(r.peers[p.name]?.peakRss)),
      (r.verdicts ?? []).filter((v) => v.kind === 'rss').map((v) => `${v.goal}: ${v.peer.replace('medo-', '')} ${verdictText(v.pass)}`).join(', ')])), '');
  }

  const notes = [];
  for (const row of rows) {
    for (const n of row.notes) notes.push(`${row.dataset} · ${row.workload} · ${row.state}: ${n}`);
    for (const [p, c] of Object.entries(row.peers)) if (c.error) notes.push(`${row.dataset} · ${row.workload} · ${row.state}: ${p} failed: ${c.error}`);
  }
  if (notes.length) out.push('## Notes', '', ...notes.map((n) => `- ${n}`), '');
  return `${out.join('\n')}\n`;
}
