// The results at a glance, as an SVG drawn here (no plotting dependency): one group of horizontal bars per
// row (dataset · workload · state), each bar a peer's median time as a ratio to the row's baseline (the local
// disk; for tool rows the first tool), on a log scale around 1x. A red tick marks the goal where it can be
// put as a ratio. Bars right of 1x are slower than the baseline, left of it faster.
import { summarize } from './stats.mjs';

const COLORS = {
  squashfuse_ll: '#8c8c8c', 'medo-highlevel': '#e08a2c', 'medo-lowlevel': '#2b6cb0', git: '#2f9e44',
  tar: '#a0785a', medo: '#7b3fa0', silo: '#7b3fa0',
};
const PALETTE = ['#d6336c', '#1098ad', '#5c940d', '#f08c00'];
const esc = (s) => String(s).replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' }[c]));

function entries(rows, wlByName) {
  const list = [];
  for (const row of rows) {
    const wl = wlByName[row.workload];
    if (wl.kind === 'mount') continue;
    const baseName = wl.kind === 'tool' ? wl.tools[0].name : 'local';
    const base = summarize(row.peers[baseName]).wallMs;
    if (!base) continue;
    const bars = [];
    for (const [peer, cell] of Object.entries(row.peers)) {
      if (peer === baseName) continue;
      const s = summarize(cell).wallMs;
      if (s) bars.push({ peer, ratio: s / base });
    }
    if (bars.length === 0) continue;
    const limit = (row.verdicts ?? []).find((v) => v.limit !== null)?.limit ?? null;
    const vs = wl.kind === 'tool' ? ` (vs ${wl.tools[0].label})` : '';
    list.push({ dataset: row.dataset, label: `${row.workload} · ${row.state}${vs}`, bars, limit });
  }
  return list;
}

export function renderChart({ rows, wls, labels, title, subtitle }) {
  const wlByName = Object.fromEntries(wls.map((w) => [w.name, w]));
  const items = entries(rows, wlByName);
  const series = [...new Set(items.flatMap((i) => i.bars.map((b) => b.peer)))];
  const color = (p) => COLORS[p] ?? PALETTE[series.indexOf(p) % PALETTE.length];
  const values = items.flatMap((i) => [...i.bars.map((b) => b.ratio), ...(i.limit ? [i.limit] : [])]);
  const lo = Math.max(-2, Math.floor(Math.log10(Math.min(0.5, ...values))));
  const hi = Math.min(3, Math.ceil(Math.log10(Math.max(2, ...values))));

  const W = 980;
  const X0 = 320;
  const PW = W - X0 - 50;
  const BAR = 7;
  const x = (v) => X0 + ((Math.log10(Math.min(Math.max(v, 10 ** lo), 10 ** hi)) - lo) / (hi - lo)) * PW;
  const svg = [];
  let y = 78;
  const top = y;
  let dataset = null;
  for (const it of items) {
    if (it.dataset !== dataset) {
      dataset = it.dataset;
      y += 8;
      svg.push(`<text x="10" y="${y + 12}" font-weight="bold" font-size="13">${esc(dataset)}</text>`);
      y += 18;
    }
    const h = it.bars.length * BAR + 6;
    svg.push(`<text x="${X0 - 8}" y="${y + h / 2 + 4}" text-anchor="end" font-size="11">${esc(it.label)}</text>`);
    it.bars.forEach((b, k) => {
      const by = y + 3 + k * BAR;
      const [a, z] = [x(1), x(b.ratio)].sort((p, q) => p - q);
      svg.push(`<rect x="${a.toFixed(1)}" y="${by}" width="${Math.max(1, z - a).toFixed(1)}" height="${BAR - 1}" fill="${color(b.peer)}"><title>${esc(`${labels[b.peer] ?? b.peer}: ${b.ratio.toFixed(2)}x`)}</title></rect>`);
      svg.push(`<text x="${(b.ratio >= 1 ? z + 3 : a - 3).toFixed(1)}" y="${by + BAR - 1}" font-size="8" fill="#444" text-anchor="${b.ratio >= 1 ? 'start' : 'end'}">${b.ratio >= 10 ? b.ratio.toFixed(0) : b.ratio.toFixed(2)}</text>`);
    });
    if (it.limit) {
      const gx = x(it.limit).toFixed(1);
      svg.push(`<line x1="${gx}" x2="${gx}" y1="${y}" y2="${y + h}" stroke="#e03131" stroke-width="2"><title>goal: ${it.limit.toFixed(2)}x</title></line>`);
    }
    y += h + 2;
  }
  const bottom = y + 4;
  const grid = [];
  for (let e = lo; e <= hi; e++) {
    for (const m of e < hi ? [1, 2, 5] : [1]) {
      const v = m * 10 ** e;
      const gx = x(v).toFixed(1);
      const major = m === 1;
      grid.push(`<line x1="${gx}" x2="${gx}" y1="${top}" y2="${bottom}" stroke="${v === 1 ? '#000' : major ? '#bbb' : '#e6e6e6'}" stroke-width="${v === 1 ? 1.2 : 1}"/>`);
      if (major || hi - lo <= 3) grid.push(`<text x="${gx}" y="${top - 4}" font-size="10" text-anchor="middle">${v >= 1 ? v : v.toFixed(-e)}x</text>`, `<text x="${gx}" y="${bottom + 12}" font-size="10" text-anchor="middle">${v >= 1 ? v : v.toFixed(-e)}x</text>`);
    }
  }
  const legend = series.map((p, i) => `<rect x="${10 + i * 150}" y="44" width="12" height="10" fill="${color(p)}"/><text x="${26 + i * 150}" y="53" font-size="11">${esc(labels[p] ?? p)}</text>`);
  legend.push(`<line x1="${10 + series.length * 150}" x2="${10 + series.length * 150}" y1="42" y2="56" stroke="#e03131" stroke-width="2"/><text x="${16 + series.length * 150}" y="53" font-size="11">goal</text>`);
  const H = bottom + 24;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">${esc(title)}</text>`,
    `<text x="10" y="36" font-size="11" fill="#555">${esc(subtitle)}</text>`,
    ...legend, ...grid, ...svg, '</svg>', '',
  ].join('\n');
}
