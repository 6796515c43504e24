// The goals, checked against a row's medians for each medo peer. A verdict is pass, fail, or null
// when a peer it needs was not measured. `limit` is the goal as a ratio to the local disk where it can be
// put that way (the chart draws it as a marker).
import { summarize } from './stats.mjs';

const applies = (goal, row) => (goal.states === undefined || goal.states.includes(row.state))
  && (goal.datasets === undefined || goal.datasets.includes(row.dataset));

export function verdicts(wl, row, ds) {
  const out = [];
  const local = summarize(row.peers.local).wallMs;
  for (const goal of wl.goals ?? []) {
    if (!applies(goal, row)) continue;
    for (const [peer, cell] of Object.entries(row.peers)) {
      if (!peer.startsWith('medo-')) continue;
      const s = summarize(cell);
      const v = { goal: goal.text, peer, pass: null, limit: null };
      if (goal.kind === 'mountMs') {
        if (s.serverMs !== null) v.pass = s.serverMs < goal.max;
      } else if (goal.kind === 'ratio') {
        v.limit = goal.max;
        if (s.wallMs !== null && local) v.pass = goal.strict ? s.wallMs / local < goal.max : s.wallMs / local <= goal.max;
      } else if (goal.kind === 'vs') {
        const other = summarize(row.peers[goal.peer]).wallMs;
        if (other !== null && local) v.limit = other / local;
        if (s.wallMs !== null && other !== null) v.pass = s.wallMs < other;
      } else if (goal.kind === 'mbps') {
        const limitMs = (ds.bytes / (goal.min * 1e6)) * 1000;
        if (local) v.limit = limitMs / local;
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
