// Medians of a peer's samples in a row, and how the report writes numbers.
import { median } from '../measure.mjs';

const med = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x));
  return v.length === 0 ? null : median(v);
};

/** Median wall time, CPU time (command + serving process), mount times; null where there is no sample. */
export function summarize(cell) {
  const s = cell?.samples ?? [];
  return {
    n: s.length,
    wallMs: med(s.map((x) => x.wallMs)),
    cpuMs: med(s.map((x) => x.cpuMs)),
    serverCpuMs: med(s.map((x) => x.serverCpuMs)),
    serverMs: med(s.map((x) => x.serverMs)),
  };
}

export const fmtMs = (ms) => {
  if (ms === null || ms === undefined) return '-';
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 10) return `${ms.toFixed(0)} ms`;
  return `${ms.toFixed(1)} ms`;
};

export const fmtRatio = (r) => (r === null || !Number.isFinite(r) ? '-' : `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}x`);
export const fmtMB = (bytes) => (bytes === null || bytes === undefined ? '-' : `${(bytes / 1e6).toFixed(0)} MB`);
