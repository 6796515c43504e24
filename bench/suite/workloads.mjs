// What the suite measures, on which datasets, in which states, and the issue's goal for each (issue 6).
//   fs workloads run the same command in the tree as each peer shows it (local disk, squashfuse_ll, medo
//     with each FUSE backend; for tar also `git archive` of the same tree), with local as the baseline;
//   tool workloads compare commands that do the same job (objects: git vs silo cat-file; ingest and
//     materialize: medo add / expand vs cp -a and tar), with the first listed as the baseline.
// States: cold (caches dropped, then mounted), fresh (a new mount, the backing files in the page cache, the
// kernel's dentries and inodes dropped: `echo 2`), warm (another pass on the same mount). The local disk
// has no mount: its "fresh" is the same `echo 2` with the file data cached.
import { join } from 'node:path';
import { q } from './proc.mjs';

export const STATES = ['cold', 'fresh', 'warm'];
const TREES = ['linux', 'python', 'deep'];
const ALL = ['linux', 'python', 'deep', 'bigfile'];

/** Goals are checked for the medo peers of a row; `kind` says how (see report.mjs). */
export function workloads({ probe, build, quick, scratch }) {
  const node = q(process.execPath);
  const pyEnv = (root, ds) => {
    const env = { ...process.env, PYTHONHOME: join(root, ds.python.home), PYTHONDONTWRITEBYTECODE: '1' };
    for (const k of ['PYTHONPATH', 'PYTHONSTARTUP', 'PYTHONUSERBASE', 'PYTHONSAFEPATH']) delete env[k];
    return env;
  };
  const pyCmd = (root, ds, flags = '') => `${q(join(root, ds.python.bin))} -s ${flags} -c ${q(ds.python.imports)}`;
  const tmp = (name) => join(scratch, name);
  // Tools that write a whole tree write it into a new ext4 filesystem each run (an image file in the
  // scratch directory, loop-mounted): right after an rm -rf of the previous run's 80,000-100,000 files,
  // ext4's inode allocator skips every recently freed inode, which made the same `tar -xzf` of the deep
  // tree take 36-55 s instead of 2 s, so whoever ran second paid for the other's deletions.
  const fsImage = tmp('fs.img');
  const fsDir = tmp('fs');
  const out = (name) => join(fsDir, name);
  const freshFs = () => `{ ! mountpoint -q ${q(fsDir)} || umount ${q(fsDir)}; } && mkdir -p ${q(fsDir)} && rm -f ${q(fsImage)}`
    + ` && truncate -s 8G ${q(fsImage)} && mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 ${q(fsImage)}`
    + ` && mount -o loop ${q(fsImage)} ${q(fsDir)}`;
  const dropFs = () => `umount ${q(fsDir)} && rm -f ${q(fsImage)}`;
  return [
    {
      name: 'mount', kind: 'mount', label: 'mount (medo: server / until ready)', datasets: ALL, states: ['cold', 'fresh'],
      goals: [
        { kind: 'mountMs', max: 50, text: '< 50 ms' },
        // Issue 17: from starting `medo mount --foreground` (Node's start-up included), whatever the tree.
        { kind: 'readyMs', states: ['fresh'], max: 150, text: 'ready <= 150 ms' },
      ],
    },
    {
      name: 'find', kind: 'fs', label: 'find . | wc -l', datasets: TREES, states: STATES, check: 'out',
      cmd: () => 'find . | wc -l',
      goals: [{ kind: 'ratio', states: ['warm'], max: 1.5, text: 'warm <= 1.5x' }],
    },
    {
      name: 'stat', kind: 'fs', label: "find . -printf '%s %m\\n'", datasets: TREES, states: STATES, check: 'out',
      cmd: () => "find . -printf '%s %m\\n' | wc -l",
    },
    {
      name: 'neg', kind: 'fs', label: 'stat of absent names (probe storm)', datasets: TREES, states: STATES, selfTimed: true,
      cmd: ({ root, ds }) => `${node} ${q(probe)} neg ${q(root)} ${q(JSON.stringify(ds.negDirs))} ${quick ? 5 : 20}`,
      goals: [{ kind: 'ratio', states: ['warm'], max: 1.1, text: 'warm native (<= 1.1x)' }],
    },
    {
      name: 'tar', kind: 'fs', label: 'tar -cf - . | wc -c', datasets: TREES, states: STATES, check: 'out', memory: true, extraPeers: ['git'],
      cmd: ({ peer, ds }) => (peer === 'git' ? `git --git-dir ${q(ds.repo)} archive --format=tar HEAD | wc -c` : 'tar -cf - . | wc -c'),
      goals: [
        { kind: 'ratio', states: ['warm'], max: 1.3, text: 'warm <= 1.3x' },
        { kind: 'vs', states: ['fresh'], datasets: ['linux'], peer: 'squashfuse_ll', text: 'fresh < squashfuse_ll' },
        { kind: 'ratio', states: ['cold'], datasets: ['linux'], max: 1, strict: true, text: 'cold < local' },
        { kind: 'rss', states: ['warm'], datasets: ['linux'], max: 200e6, text: 'peak RSS <= 200 MB' },
        // Issue 17's, first access at the machine's limit:
        { kind: 'ratio', states: ['fresh'], datasets: ['linux'], baseState: 'warm', max: 2, text: 'fresh <= 2x warm local' },
        { kind: 'vs', states: ['fresh'], datasets: ['linux'], peer: 'git', text: 'fresh < git archive' },
        { kind: 'ratio', states: ['cold'], datasets: ['linux'], max: 0.8, text: 'cold <= 0.8x' },
        { kind: 'rss', states: ['warm'], datasets: ['linux'], max: 150e6, text: 'peak RSS <= 150 MB' },
      ],
    },
    {
      name: 'cat', kind: 'fs', label: 'xargs -P4 cat | wc -c', datasets: TREES, states: STATES, check: 'out',
      cmd: () => 'find . -type f -print0 | xargs -0 -P4 -n 64 cat | wc -c',
      goals: [{ kind: 'ratio', states: ['fresh'], datasets: ['linux'], max: 1.5, text: 'fresh <= 1.5x (issue 17)' }],
    },
    {
      name: 'seq', kind: 'fs', label: 'large file, sequential (dd bs=1M)', datasets: ['bigfile'], states: STATES, throughput: true,
      cmd: ({ ds }) => `dd if=${q(ds.bigFile)} of=/dev/null bs=1M status=none`,
      goals: [{ kind: 'mbps', states: ['cold'], min: 400, text: 'cold >= 400 MB/s' }],
    },
    {
      // A reader that restarts inflation for every read far from the last one can take seconds per read of a
      // large blob: a pass stops after its time budget, and its time is scaled to the full count. Warm passes
      // read only the offsets the first pass reached ("after the first touch").
      name: 'rand', kind: 'fs', label: `large file, ${quick ? 5000 : 20000} random 4 KiB reads`, datasets: ['bigfile'], states: STATES, selfTimed: true,
      cmd: ({ ds, limit }) => `${node} ${q(probe)} rand ${q(ds.bigFile)} ${quick ? 5000 : 20000} ${quick ? 10_000 : 20_000}${limit ? ` ${limit}` : ''}`,
      goals: [{ kind: 'ratio', states: ['warm'], max: 1.1, text: 'warm page-cache speed (<= 1.1x)' }],
    },
    {
      name: 'python', kind: 'fs', label: 'python3.11 -c "import json, ssl, asyncio, email"', datasets: ['python'], states: STATES, pyc: true,
      cmd: ({ root, ds }) => pyCmd(root, ds),
      env: ({ root, ds }) => pyEnv(root, ds),
      // -v names every module it compiles from source rather than loading its .pyc.
      pycCheck: ({ root, ds }) => ({ cmd: `${pyCmd(root, ds, '-v')} 2>&1 >/dev/null`, env: pyEnv(root, ds) }),
      goals: [
        { kind: 'ratio', max: 1.3, text: '<= 1.3x' }, { kind: 'pyc', states: ['warm'], text: 'no .pyc recompiled' },
        { kind: 'ratio', states: ['cold', 'fresh'], max: 1.5, text: 'cold, fresh <= 1.5x (issue 17)' },
      ],
    },
    {
      name: 'objects', kind: 'tool', label: 'every blob: cat-file --batch | wc -c', datasets: ALL, states: ['cold', 'warm'], check: 'out',
      tools: [
        { name: 'git', label: 'git cat-file', cmd: (ds) => `git --git-dir ${q(ds.repo)} cat-file --batch < ${q(ds.ids)} | wc -c` },
        { name: 'silo', label: 'silo cat-file', cmd: (ds) => `${node} ${q(build.silo)} cat-file --batch ${q(ds.silo)} < ${q(ds.ids)} | wc -c` },
      ],
    },
    {
      // Each command ends with `sync` inside the timing: medo fsyncs its pack, cp and tar leave dirty pages.
      name: 'ingest', kind: 'tool', label: 'ingest the tree (then sync)', datasets: ALL, states: ['warm'],
      tools: [
        { name: 'cp', label: 'cp -a', before: freshFs, cmd: (ds) => `cp -a ${q(ds.root)} ${q(out('cp'))} && sync`, after: dropFs },
        { name: 'tar', label: 'tar -czf', before: freshFs, cmd: (ds) => `tar -czf ${q(out('t.tar.gz'))} -C ${q(ds.root)} . && sync`, after: dropFs },
        {
          name: 'medo', label: 'medo add',
          before: () => `${freshFs()} && mkdir -p ${q(out('add/x.medo'))} && ${node} ${q(build.silo)} init ${q(out('add/silo'))} >/dev/null && echo '{"silos":["../silo"]}' > ${q(out('add/x.medo/SILO.json'))}`,
          cmd: (ds) => `${node} ${q(build.medo)} add ${q(ds.root)} ${q(out('add/x.medo/x.treeptr'))} >/dev/null && sync`,
          after: dropFs,
        },
      ],
    },
    {
      name: 'materialize', kind: 'tool', label: 'materialize the tree (then sync)', datasets: ALL, states: ['warm'],
      setup: (ds) => `[ -f ${q(join(ds.base, 'tree.tar.gz'))} ] || tar -czf ${q(join(ds.base, 'tree.tar.gz'))} -C ${q(ds.root)} .`,
      tools: [
        { name: 'cp', label: 'cp -a', before: freshFs, cmd: (ds) => `cp -a ${q(ds.root)} ${q(out('cp'))} && sync`, after: dropFs },
        {
          name: 'tar', label: 'tar -xzf', before: () => `${freshFs()} && mkdir -p ${q(out('x'))}`,
          cmd: (ds) => `tar -xzf ${q(join(ds.base, 'tree.tar.gz'))} -C ${q(out('x'))} && sync`, after: dropFs,
        },
        { name: 'medo', label: 'medo expand', before: freshFs, cmd: (ds) => `${node} ${q(build.medo)} expand ${q(ds.treeptr)} ${q(out('e'))} >/dev/null && sync`, after: dropFs },
      ],
    },
  ];
}
