// Measuring one row: a workload on a dataset in one state, for every peer, --runs times. Peers take turns
// within each run (local, squashfuse_ll, medo..., local, ...) so that a burst of other work on the machine
// falls on all of them rather than on one. A peer that fails (a mount that does not come up, a command that
// exits non-zero or times out) is recorded with its error and left out of the rest of the row.
import { dropCaches, log, progress, q, run } from './proc.mjs';
import { summarize } from './stats.mjs';

const message = (e) => `${e.message}${e.detail ? `: ${e.detail.split('\n').slice(-2).join(' ')}` : ''}`;

const gitPeer = { name: 'git', label: 'git archive', kind: 'dir', open: async (ds) => ({ root: ds.root, close: async () => undefined }) };

async function sampleFs(wl, ds, peer, handle, timeoutMs) {
  const ctx = { ds, root: handle.root, peer: peer.name, limit: handle.limit };
  const s0 = handle.cpuMs?.() ?? null;
  const r = await run(wl.cmd(ctx), { cwd: handle.root, env: wl.env?.(ctx), timeoutMs, onTimeout: handle.abort, progressOf: handle.cpuMs });
  const s1 = handle.cpuMs?.() ?? null;
  const serverCpuMs = s0 !== null && s1 !== null ? s1 - s0 : null;
  let { wallMs, cpuMs: clientCpuMs, out } = r;
  let reads;
  if (wl.selfTimed) {
    const j = JSON.parse(r.out.split('\n').pop());
    ({ ms: wallMs, cpuMs: clientCpuMs } = j);
    out = j.hits ?? j.bytes;
    if (j.reads !== undefined && j.reads < j.of) {
      // Stopped by its time budget: the time for all `of` reads at the rate measured.
      reads = j.reads;
      wallMs *= j.of / j.reads;
      clientCpuMs *= j.of / j.reads;
    }
  }
  return { wallMs, clientCpuMs, serverCpuMs, cpuMs: clientCpuMs === null ? null : clientCpuMs + (serverCpuMs ?? 0), out, ...(reads ? { reads } : {}) };
}

async function sampleMount(handle) {
  await run('ls -a . > /dev/null', { cwd: handle.root, timeoutMs: 60_000, onTimeout: handle.abort }); // it answers
  return { wallMs: handle.mountMs, serverMs: handle.serverMs ?? null, cpuMs: null };
}

/** Reads the backing files of a mount (silo pack, image) so that a "fresh" mount finds them cached. */
async function primeBacking(peer, ds) {
  const paths = peer.backing?.(ds) ?? [];
  if (paths.length > 0) await run(`find ${paths.map(q).join(' ')} -type f -exec cat {} + > /dev/null 2>&1 || true`);
}

export class Runner {
  constructor({ runs, timeoutMs }) {
    this.runs = runs;
    this.timeoutMs = timeoutMs;
  }

  async measure(ds, wl, state, peers) {
    const row = { dataset: ds.name, workload: wl.name, state, peers: {}, notes: [] };
    if (wl.kind === 'tool') await this.#tools(ds, wl, state, row);
    else await this.#fs(ds, wl, state, [...peers, ...(wl.extraPeers ?? []).map(() => gitPeer)], row);
    this.#check(wl, row);
    log(`${ds.name} · ${wl.name} · ${state}: ${Object.entries(row.peers).map(([p, c]) => {
      if (c.error) return `${p} failed`;
      const s = summarize(c);
      return `${p} ${s.wallMs === null ? '-' : `${(s.wallMs / 1000).toFixed(s.wallMs < 1000 ? 3 : 2)} s`}`;
    }).join(', ')}`);
    return row;
  }

  async #fs(ds, wl, state, peers, row) {
    const live = new Set(peers);
    for (const p of peers) row.peers[p.name] = { samples: [] };
    const fail = (p, e) => {
      row.peers[p.name].error = message(e);
      live.delete(p);
      log(`${ds.name} · ${wl.name} · ${state}: ${p.name} failed: ${row.peers[p.name].error}`);
    };
    const sample = (p, h) => (wl.kind === 'mount' ? sampleMount(h) : sampleFs(wl, ds, p, h, this.timeoutMs));
    const say = (p, i) => progress(`${ds.name} · ${wl.name} · ${state} · ${p.name} ${i + 1}/${this.runs}`);

    if (state === 'warm') {
      const handles = new Map();
      try {
        for (const p of peers) {
          try {
            handles.set(p, await p.open(ds));
            progress(`${ds.name} · ${wl.name} · warm-up · ${p.name}`);
            const first = await sample(p, handles.get(p)); // the first pass, untimed: what follows is the second and later
            if (first.reads) handles.get(p).limit = first.reads; // later passes re-read only what the first one touched
          } catch (e) { fail(p, e); }
        }
        for (let i = 0; i < this.runs; i++) {
          for (const p of [...live]) {
            say(p, i);
            try { row.peers[p.name].samples.push(await sample(p, handles.get(p))); } catch (e) { fail(p, e); }
          }
        }
        for (const p of live) {
          const h = handles.get(p);
          if (wl.memory && h.peakRss) row.peers[p.name].peakRss = h.peakRss();
          if (wl.pycCheck) row.peers[p.name].pyc = await this.#pyc(wl, ds, p, h).catch((e) => ({ error: message(e) }));
        }
      } finally {
        for (const h of handles.values()) await h.close().catch(() => undefined);
      }
      return;
    }

    if (state === 'fresh') {
      // The local disk's file data must be cached as a fresh mount's silo is: one pass first.
      for (const p of peers.filter((x) => x.kind === 'dir' && wl.kind !== 'mount')) {
        try { await sample(p, await p.open(ds)); } catch (e) { fail(p, e); }
      }
    }
    for (let i = 0; i < this.runs; i++) {
      for (const p of [...live]) {
        say(p, i);
        let h;
        try {
          if (state === 'cold') await dropCaches(3);
          else {
            await primeBacking(p, ds);
            await dropCaches(2);
          }
          h = await p.open(ds);
          row.peers[p.name].samples.push(await sample(p, h));
        } catch (e) {
          fail(p, e);
        } finally {
          await h?.close().catch(() => undefined);
        }
      }
    }
  }

  async #pyc(wl, ds, p, h) {
    const { cmd, env } = wl.pycCheck({ ds, root: h.root, peer: p.name });
    const { out } = await run(cmd, { cwd: h.root, env, timeoutMs: this.timeoutMs });
    let recompiled = 0;
    let fromPyc = 0;
    for (const line of out.split('\n')) {
      const m = /^# code object from '?(.*?)'?$/.exec(line);
      if (m?.[1].endsWith('.pyc')) fromPyc++;
      else if (m?.[1].endsWith('.py')) recompiled++;
    }
    return { recompiled, fromPyc };
  }

  async #tools(ds, wl, state, row) {
    if (wl.setup) {
      progress(`${ds.name} · ${wl.name}: setting up`);
      await run(wl.setup(ds), { timeoutMs: this.timeoutMs });
    }
    const live = new Set(wl.tools);
    for (const t of wl.tools) row.peers[t.name] = { samples: [] };
    const once = async (t) => {
      if (t.before) await run(t.before(ds));
      await run('sync');
      try {
        const r = await run(t.cmd(ds), { timeoutMs: this.timeoutMs });
        return { wallMs: r.wallMs, cpuMs: r.cpuMs, out: r.out };
      } finally {
        if (t.after) await run(t.after(ds));
      }
    };
    const fail = (t, e) => {
      row.peers[t.name].error = message(e);
      live.delete(t);
      log(`${ds.name} · ${wl.name} · ${state}: ${t.name} failed: ${row.peers[t.name].error}`);
    };
    if (state === 'warm') {
      // Inputs into the page cache: the tree, the silo and any tarball. Cheaper than a run of each tool.
      await run(`tar -cf - -C ${q(ds.root)} . > /dev/null; find ${q(ds.base)} -maxdepth 1 -type f -exec cat {} + > /dev/null; find ${q(ds.silo)} -type f -exec cat {} + > /dev/null`);
    }
    for (let i = 0; i < this.runs; i++) {
      for (const t of [...live]) {
        progress(`${ds.name} · ${wl.name} · ${state} · ${t.name} ${i + 1}/${this.runs}`);
        try {
          if (state === 'cold') await dropCaches(3);
          row.peers[t.name].samples.push(await once(t));
        } catch (e) { fail(t, e); }
      }
    }
  }

  /** Outputs that must agree between peers (entry counts, byte counts) and probes that must find nothing. */
  #check(wl, row) {
    const outs = Object.entries(row.peers).filter(([p, c]) => p !== 'git' && c.samples.length > 0).map(([p, c]) => [p, c.samples[0].out]);
    if (wl.check === 'out') {
      const [base, want] = outs[0] ?? [];
      for (const [p, got] of outs.slice(1)) if (got !== want) row.notes.push(`${p} gave ${got} where ${base} gave ${want}`);
    }
    if (wl.name === 'neg') for (const [p, hits] of outs) if (hits !== 0) row.notes.push(`${p}: ${hits} of the absent names were found`);
    for (const [p, c] of Object.entries(row.peers)) {
      const partial = c.samples.filter((s) => s.reads);
      if (partial.length) row.notes.push(`${p}: the time budget stopped ${partial.length} of ${c.samples.length} passes after ${partial.map((s) => s.reads).join(', ')} reads; times scaled to the full count`);
    }
  }
}
