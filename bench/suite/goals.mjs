// The issues' goals, checked against a row's medians for each medo peer. A verdict is pass, fail, or null
// when a peer it needs was not measured. `limit` is the goal as a ratio to the local disk where it can be
// put that way (the chart draws it as a marker). A ratio goal with `baseState` is against the local disk
// in that state (issue 17: a fresh mount's tar against the disk's warm tar), found in `rows`.
import { summarize } from './stats.mjs';

const applies = (goal, row) => (goal.states === undefined || goal.states.includes(row.state))
  && (goal.datasets === undefined || goal.datasets.includes(row.dataset));

export function verdicts(wl, row, ds, rows = []) {
  const out = [];
  for (const goal of wl.goals ?? []) {
    if (!applies(goal, row)) continue;
    const baseRow = goal.baseState === undefined ? row
      : rows.find((r) => r.dataset === row.dataset && r.workload === row.workload && r.state === goal.baseState);
    const local = summarize(baseRow?.peers.local).wallMs;
    const rowLocal = summarize(row.peers.local).wallMs;
    for (const [peer, cell] of Object.entries(row.peers)) {
      if (!peer.startsWith('medo-')) continue;
      const s = summarize(cell);
      const v = { goal: goal.text, peer, pass: null, limit: null, base: local };
      if (goal.kind === 'mountMs') {
        if (s.serverMs !== null) v.pass = s.serverMs < goal.max;
      } else if (goal.kind === 'readyMs') {
        if (s.wallMs !== null) v.pass = s.wallMs <= goal.max;
      } else if (goal.kind === 'ratio') {
        // (The chart draws limits against this row's own local figure.)
        v.limit = baseRow === row ? goal.max : local && rowLocal ? (goal.max * local) / rowLocal : null;
        if (s.wallMs !== null && local) v.pass = goal.strict ? s.wallMs / local < goal.max : s.wallMs / local <= goal.max;
      } else if (goal.kind === 'vs') {
        const other = summarize(row.peers[goal.peer]).wallMs;
        if (other !== null && rowLocal) v.limit = other / rowLocal;
        if (s.wallMs !== null && other !== null) v.pass = s.wallMs < other;
      } else if (goal.kind === 'mbps') {
        const limitMs = (ds.bytes / (goal.min * 1e6)) * 1000;
        if (rowLocal) v.limit = limitMs / rowLocal;
        if (s.wallMs !== null) v.pass = s.wallMs <= limitMs;
      } else if (goal.kind === 'rss') {
        if (typeof cell.peakRss === 'number') v.pass = cell.peakRss <= goal.max;
      } else if (goal.kind === 'pyc') {
        if (typeof cell.pyc?.recompiled === 'number') v.pass = cell.pyc.recompiled === 0;
      }
      out.push(v);
    }
  }
  return out;
}
