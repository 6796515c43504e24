// Medians and the fixed-width text of the benchmark's tables.

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export const mb = (n) => (n === null ? '-' : `${(n / 2 ** 20).toFixed(1)} MiB`);
export const kb = (n) => `${(n / 1024).toFixed(0)} KiB`;
export const pad = (cells, widths) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
