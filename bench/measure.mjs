// What every benchmark here measures with: medians, and the CPU time of the children it waited for.
// The machines may be shared, and CPU time is steadier than wall time when other work competes.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU milliseconds (user + system) of this process's waited-for children, from /proc (Linux; null elsewhere). */
export function childrenCpuMs() {
  try {
    const stat = readFileSync('/proc/self/stat', 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] is field 3, "state"
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLOCK_TICKS; // cutime, cstime
  } catch {
    return null;
  }
}

/** The first line `medo mount --ready-fd` writes to `stream` ('ready', or why not), or all it wrote before closing. */
export function readyLine(stream) {
  return new Promise((resolve) => {
    let text = '';
    stream.on('data', (c) => {
      text += c;
      if (text.includes('\n')) resolve(text.trim());
    });
    stream.on('end', () => resolve(text.trim()));
  });
}
