// The silo browser's page: the .treeptr files of the catalog `silo publish --browser` wrote, a tree's
// listing with sizes, modes and times, a file's text (or a download), and the difference of two
// versions. Everything is read from the silo this page sits in (../), by silo-reader.js. The view is
// the URL's fragment, so every page can be linked to and reloaded. Names and contents from the silo are
// only ever set as text, never parsed as HTML.
import { SiloReader, diffTrees, isTreeMode, metaAttrs } from './silo-reader.js';

const siloBase = new URL('../', location.href).href;
const view = document.getElementById('view');
const errorBox = document.getElementById('error');
let reader;
let catalog;
const metas = new Map();

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined) continue;
    if (k === 'text') e.textContent = v;
    else if (k === 'class') e.className = v;
    else if (k.startsWith('data-')) e.setAttribute(k, String(v));
    else e[k] = v;
  }
  for (const c of children) if (c !== undefined) e.append(c);
  return e;
}

const link = (params, text, attrs = {}) => el('a', { href: `#${new URLSearchParams(params)}`, text, ...attrs });
const short = (oid) => (oid === undefined ? '' : oid.slice(0, 12));

export function formatSize(n) {
  if (n === undefined) return '';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = -1;
  do {
    v /= 1024;
    u++;
  } while (v >= 1024 && u < units.length - 1);
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

/** `ls -l` style: the sidecar's permission bits where known, else what the git mode says. */
function modeString(gitMode, attrs) {
  const type = isTreeMode(gitMode) ? 'd' : gitMode === '120000' ? 'l' : '-';
  const perm = attrs?.perm ?? (type === 'd' ? 0o755 : type === 'l' ? 0o777 : gitMode === '100755' ? 0o755 : 0o644);
  let s = type;
  for (let shift = 6; shift >= 0; shift -= 3) {
    const bits = (perm >> shift) & 7;
    const special = shift === 6 ? perm & 0o4000 : shift === 3 ? perm & 0o2000 : perm & 0o1000;
    const x = bits & 1;
    const xc = special ? (shift === 0 ? (x ? 't' : 'T') : (x ? 's' : 'S')) : (x ? 'x' : '-');
    s += (bits & 4 ? 'r' : '-') + (bits & 2 ? 'w' : '-') + xc;
  }
  return s;
}

function mtimeString(attrs) {
  if (attrs === undefined) return '';
  const d = new Date(attrs.mtime * 1000);
  return `${d.toISOString().slice(0, 19).replace('T', ' ')}${attrs.nsec ? `.${String(attrs.nsec).padStart(9, '0')}` : ''}`;
}

async function loadMeta(oid) {
  if (oid === undefined || oid === '') return undefined;
  let p = metas.get(oid);
  if (p === undefined) {
    p = reader.readBlob(oid).then((bytes) => JSON.parse(new TextDecoder().decode(bytes)));
    metas.set(oid, p);
  }
  return p;
}

function showError(e) {
  errorBox.textContent = e instanceof Error ? `${e.message}${e.url ? `\n(${e.url})` : ''}` : String(e);
}

function setStatus() {
  document.getElementById('status').textContent = `${reader.packs.length} pack(s) · ${reader.stats.requests} requests · ${formatSize(reader.stats.bytes)} fetched`;
}

/** Every version the catalog knows of: each .treeptr as it is now and as git's history has it. */
function versions() {
  const out = [];
  const seen = new Set();
  for (const w of catalog.wedges) {
    const add = (ptr, when) => {
      if (ptr?.tree === undefined) return;
      const key = `${w.medo}/${w.path} ${ptr.tree}`;
      if (seen.has(key)) return;
      seen.add(key);
      out.push({ label: `${w.medo}/${w.path} ${when} (${short(ptr.tree)})`, tree: ptr.tree, meta: ptr.meta ?? '' });
    };
    add(w.treeptr, 'now');
    for (const h of w.history ?? []) add(h.treeptr, `${h.date.slice(0, 10)} ${short(h.commit)}`);
  }
  return out;
}

function homeView() {
  const rows = catalog.wedges.map((w) => {
    const p = w.treeptr;
    const label = `${w.medo}/${w.path}`;
    const open = p.tree !== undefined
      ? link({ view: 'tree', root: p.tree, meta: p.meta ?? '', label }, w.path)
      : link({ view: 'file', blob: p.blob, label, name: w.path.replace(/^.*\//, '').replace(/\.treeptr$/, '') }, w.path);
    const history = el('ul');
    for (const h of w.history ?? []) {
      const tree = h.treeptr?.tree;
      history.append(el('li', {},
        el('span', { class: 'mono', text: `${h.date.slice(0, 10)} ${short(h.commit)} ` }),
        tree !== undefined ? link({ view: 'tree', root: tree, meta: h.treeptr.meta ?? '', label: `${label} @ ${short(h.commit)}` }, short(tree)) : el('span', { text: h.change }),
        el('span', { class: 'muted', text: ` ${h.subject}` })));
    }
    return el('tr', { 'data-path': label, 'data-oid': p.tree ?? p.blob },
      el('td', { text: w.medo }), el('td', {}, open),
      el('td', { class: 'oid', text: short(p.tree ?? p.blob) }),
      el('td', { class: 'num', text: formatSize(p.size) }), el('td', { class: 'num', text: String(p.files ?? '') }),
      el('td', { class: 'mono', text: p.source?.url ?? (p.built_from ? `built: ${p.built_from.command ?? ''}` : '') }),
      el('td', {}, history));
  });
  const vs = versions();
  const pick = (id, index) => {
    const s = el('select', { id });
    vs.forEach((v, i) => s.append(el('option', { value: `${v.tree}|${v.meta}`, text: v.label, selected: i === index })));
    return s;
  };
  const form = el('form', { id: 'compare-form' }, el('label', { text: 'Compare' }), pick('diff-a', 1), el('span', { text: 'with' }), pick('diff-b', 0),
    el('button', { type: 'submit', id: 'compare', text: 'Compare' }));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const [a, am] = form.querySelector('#diff-a').value.split('|');
    const [b, bm] = form.querySelector('#diff-b').value.split('|');
    location.hash = new URLSearchParams({ view: 'diff', a, am, b, bm }).toString();
  });
  const open = el('form', { id: 'open-form' }, el('label', { text: 'Open a tree or blob id' }), el('input', { id: 'open-id', size: 44, placeholder: '40 hex digits' }),
    el('button', { type: 'submit', text: 'Open' }));
  open.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const oid = open.querySelector('#open-id').value.trim().toLowerCase();
    try {
      const obj = await reader.readObject(oid);
      location.hash = new URLSearchParams(obj.type === 'tree' ? { view: 'tree', root: oid, label: short(oid) } : { view: 'file', blob: oid, label: short(oid) }).toString();
    } catch (e) {
      showError(e);
    }
  });
  return [
    el('h2', { text: `Wedges (${catalog.wedges.length} .treeptr files)` }),
    catalog.wedges.length === 0 ? el('p', { class: 'muted', text: "No medo directory was published with this silo ('silo publish --browser --medo DIR')." }) : undefined,
    el('table', { id: 'treeptrs' }, el('tr', {}, ...['medo directory', '.treeptr', 'id', 'size', 'files', 'source', 'history'].map((h) => el('th', { text: h }))), ...rows),
    vs.length >= 2 ? form : undefined,
    open,
  ].filter((x) => x !== undefined);
}

/** The tree at `path` below `root`: walks the trees from the root. */
async function treeAt(root, path) {
  let oid = root;
  for (const part of path === '' ? [] : path.split('/')) {
    const e = (await reader.readTree(oid)).find((x) => x.name === part);
    if (e === undefined || !isTreeMode(e.mode)) throw new Error(`${path} is not a directory of tree ${root}`);
    oid = e.oid;
  }
  return oid;
}

function crumbs(params, path) {
  const out = el('h2', { class: 'crumbs', id: 'path' }, link({ ...params, view: 'tree', path: '' }, params.label || short(params.root)));
  let at = '';
  for (const part of path === '' ? [] : path.split('/')) {
    at = at === '' ? part : `${at}/${part}`;
    out.append(' / ', link({ ...params, view: 'tree', path: at }, part));
  }
  return out;
}

async function treeView(p) {
  const path = p.path ?? '';
  const meta = await loadMeta(p.meta);
  // A directory with nothing below it is in the sidecar only: it lists the empty directories in it.
  const emptyDir = meta?.empty_dirs?.includes(path) === true;
  const oid = emptyDir ? undefined : await treeAt(p.root, path);
  const entries = emptyDir ? [] : await reader.readTree(oid);
  const blobs = entries.filter((e) => !isTreeMode(e.mode));
  const sizes = await reader.sizes(blobs.map((e) => e.oid));
  const targets = new Map(await Promise.all(blobs.filter((e) => e.mode === '120000').map(async (e) => [e.oid, new TextDecoder().decode(await reader.readBlob(e.oid))])));
  const rows = entries.map((e) => ({ ...e, size: sizes.get(e.oid) }));
  // Directories with nothing below them are only in the sidecar.
  const prefix = path === '' ? '' : `${path}/`;
  for (const d of meta?.empty_dirs ?? []) {
    if (d.startsWith(prefix) && !d.slice(prefix.length).includes('/')) rows.push({ mode: '040000', name: d.slice(prefix.length), empty: true });
  }
  rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const base = { root: p.root, meta: p.meta ?? '', label: p.label ?? '' };
  const table = el('table', { id: 'listing' }, el('tr', {}, ...['mode', 'size', 'modified', 'name', 'id'].map((h) => el('th', { text: h }))));
  for (const e of rows) {
    const full = prefix + e.name;
    const attrs = metaAttrs(meta, full);
    const name = isTreeMode(e.mode)
      ? link({ ...base, view: 'tree', path: full }, `${e.name}/`)
      : link({ ...base, view: 'file', path: full }, e.name);
    const cell = el('td', { class: 'name' }, name);
    if (e.mode === '120000') cell.append(el('span', { class: 'muted', text: ` -> ${targets.get(e.oid)}` }));
    table.append(el('tr', { 'data-name': e.name, 'data-mode': e.mode, 'data-size': e.size, 'data-oid': e.oid ?? '' },
      el('td', { class: 'mode', text: modeString(e.mode, attrs) }), el('td', { class: 'num', text: formatSize(e.size) }),
      el('td', { class: 'mono', text: mtimeString(attrs) }), cell, el('td', { class: 'oid', text: short(e.oid) })));
  }
  const about = emptyDir ? 'an empty directory (kept in the sidecar; git trees cannot hold it)' : `tree ${oid} · ${entries.length} entries`;
  return [crumbs(base, path), el('p', { class: 'muted', text: about }), table];
}

const looksBinary = (bytes) => bytes.subarray(0, 8000).includes(0);

function fileBody(bytes, name) {
  const parts = [];
  const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
  parts.push(el('p', {}, el('a', { id: 'download', href: url, download: name, text: `Download ${name} (${formatSize(bytes.length)})` })));
  let text;
  if (!looksBinary(bytes)) {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      text = undefined;
    }
  }
  if (text === undefined) parts.push(el('p', { id: 'binary', class: 'muted', text: `binary file, ${bytes.length} bytes` }));
  else if (bytes.length > 4 * 1024 * 1024) parts.push(el('p', { id: 'binary', class: 'muted', text: `text file of ${bytes.length} bytes: too large to show, download it` }));
  else parts.push(el('pre', { id: 'file-text', text }));
  return parts;
}

async function fileView(p) {
  if (p.blob !== undefined) {
    const bytes = await reader.readBlob(p.blob);
    return [el('h2', { id: 'path', text: p.label ?? p.blob }), el('p', { class: 'muted', text: `blob ${p.blob}` }), ...fileBody(bytes, p.name || p.blob)];
  }
  const path = p.path;
  const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
  const name = path.slice(dir === '' ? 0 : dir.length + 1);
  const e = (await reader.readTree(await treeAt(p.root, dir))).find((x) => x.name === name);
  if (e === undefined || isTreeMode(e.mode)) throw new Error(`${path} is not a file of tree ${p.root}`);
  const [bytes, meta] = await Promise.all([reader.readBlob(e.oid), loadMeta(p.meta)]);
  const base = { root: p.root, meta: p.meta ?? '', label: p.label ?? '' };
  const attrs = metaAttrs(meta, path);
  const info = el('p', { class: 'muted mono', id: 'file-info', text: `${modeString(e.mode, attrs)}  ${bytes.length} bytes  ${mtimeString(attrs)}  blob ${e.oid}` });
  if (e.mode === '120000') return [crumbs(base, path), info, el('p', { id: 'symlink', text: `symbolic link to ${new TextDecoder().decode(bytes)}` })];
  return [crumbs(base, path), info, ...fileBody(bytes, name)];
}

async function diffView(p) {
  const rows = await diffTrees(reader, p.a, p.b);
  const oids = rows.flatMap((r) => [r.oldOid, r.newOid]).filter((x) => x !== undefined);
  const sizes = await reader.sizes(oids);
  const table = el('table', { id: 'diff' }, el('tr', {}, ...['', 'path', 'old mode', 'new mode', 'old size', 'new size', ''].map((h) => el('th', { text: h }))));
  const counts = { A: 0, D: 0, M: 0, T: 0 };
  for (const r of rows) {
    counts[r.status]++;
    const showA = { view: 'file', root: p.a, meta: p.am ?? '', path: r.path, label: short(p.a) };
    const showB = { view: 'file', root: p.b, meta: p.bm ?? '', path: r.path, label: short(p.b) };
    const pathCell = r.status === 'D' ? link(showA, r.path) : link(showB, r.path);
    const textual = r.status === 'M' && r.oldOid !== r.newOid && r.newMode !== '120000';
    table.append(el('tr', { 'data-status': r.status, 'data-path': r.path, 'data-old-mode': r.oldMode ?? '', 'data-new-mode': r.newMode ?? '', 'data-old-oid': r.oldOid ?? '', 'data-new-oid': r.newOid ?? '' },
      el('td', { class: r.status, text: r.status }), el('td', { class: 'mono' }, pathCell),
      el('td', { class: 'mode', text: r.oldMode ?? '' }), el('td', { class: 'mode', text: r.newMode ?? '' }),
      el('td', { class: 'num', text: formatSize(sizes.get(r.oldOid)) }), el('td', { class: 'num', text: formatSize(sizes.get(r.newOid)) }),
      el('td', {}, textual ? link({ view: 'filediff', a: r.oldOid, b: r.newOid, path: r.path }, 'diff', { className: 'file-diff-link' }) : undefined)));
  }
  const summary = rows.length === 0 ? 'The trees are the same.' : `${rows.length} changed: ${counts.A} added, ${counts.D} removed, ${counts.M} modified, ${counts.T} changed type`;
  return [el('h2', { text: `${short(p.a)} → ${short(p.b)}` }), el('p', { id: 'diff-summary', text: summary }), table];
}

/** A line diff by the longest common subsequence; small files only (the table is lines × lines). */
export function lineDiff(a, b) {
  const n = a.length;
  const m = b.length;
  if (n * m > 16_000_000) return undefined;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const out = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) out.push([' ', a[i++]]), j++;
    else if (j < m && (i === n || lcs[i][j + 1] >= lcs[i + 1][j])) out.push(['+', b[j++]]);
    else out.push(['-', a[i++]]);
  }
  return out;
}

async function fileDiffView(p) {
  const [x, y] = await Promise.all([reader.readBlob(p.a), reader.readBlob(p.b)]);
  const head = el('h2', { id: 'path', text: p.path ?? '' });
  if (looksBinary(x) || looksBinary(y)) return [head, el('p', { id: 'binary', text: `binary files differ (${x.length} and ${y.length} bytes)` })];
  const split = (bytes) => new TextDecoder().decode(bytes).split('\n');
  const lines = lineDiff(split(x), split(y));
  if (lines === undefined) return [head, el('p', { text: 'too large to compare here' })];
  const pre = el('pre', { id: 'file-diff' });
  // Changed lines with three lines of context, as `diff -u` shows them.
  const near = lines.map((_, k) => lines.slice(Math.max(0, k - 3), k + 4).some(([op]) => op !== ' '));
  let skipped = false;
  lines.forEach(([op, text], k) => {
    if (!near[k]) {
      if (!skipped) pre.append(el('span', { class: 'muted', text: '…\n' }));
      skipped = true;
      return;
    }
    skipped = false;
    pre.append(el('span', { class: op === '+' ? 'add' : op === '-' ? 'del' : '', text: `${op}${text}\n` }));
  });
  return [head, el('p', { class: 'muted', text: `${p.a} → ${p.b}` }), pre];
}

async function render() {
  errorBox.textContent = '';
  const p = Object.fromEntries(new URLSearchParams(location.hash.slice(1)));
  document.body.dataset.ready = 'false';
  try {
    const parts = p.view === 'tree' ? await treeView(p)
      : p.view === 'file' ? await fileView(p)
        : p.view === 'diff' ? await diffView(p)
          : p.view === 'filediff' ? await fileDiffView(p)
            : homeView();
    view.replaceChildren(...parts);
  } catch (e) {
    view.replaceChildren();
    showError(e);
  }
  setStatus();
  // What was rendered, so that a test (or a script) can wait for this view and not the one before.
  document.body.dataset.hash = location.hash;
  document.body.dataset.ready = 'true';
}

async function start() {
  document.getElementById('silo-url').textContent = siloBase;
  try {
    reader = await SiloReader.open(siloBase);
    const res = await fetch('catalog.json');
    catalog = res.ok ? await res.json() : { wedges: [] };
    if (catalog.format !== undefined && catalog.format !== 'medo-browser-catalog') throw new Error('catalog.json is not a medo browser catalog');
    catalog.wedges ??= [];
  } catch (e) {
    view.replaceChildren();
    showError(e);
    document.body.dataset.ready = 'true';
    return;
  }
  window.addEventListener('hashchange', render);
  await render();
}

start();
