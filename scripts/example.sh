#!/usr/bin/env bash
# The bundled example, end to end: store example/wedge/ in a silo with `medo add`, name it from a medo
# directory, mount that directory read-only with `medo mount` (served by a medod started here, with its
# socket and state in the temporary directory), and use the wedge from the mount.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
medo() { node bin/medo.js "$@"; }
silo() { node bin/silo.js "$@"; }

work=$(mktemp -d)
mnt="$work/wedge"
cleanup() {
  if grep -q " $mnt fuse.medo " /proc/mounts 2>/dev/null; then medo unmount "$mnt" || fusermount -u -z "$mnt"; fi
  if [ -n "${medod_pid:-}" ]; then kill -TERM "$medod_pid" 2>/dev/null && wait "$medod_pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== a silo, and a medo directory that points at it"
silo init "$work/deps.silo"
mkdir -p "$work/deps.medo"
echo '{"silos": ["../deps.silo"]}' > "$work/deps.medo/SILO.json"

echo "== medo add: the wedge into the silo, named by a .treeptr"
medo add example/wedge "$work/deps.medo/example.org/hello-1.0.treeptr"
cat "$work/deps.medo/example.org/hello-1.0.treeptr"

echo "== the tree id is git's own"
tree=$(sed -n 's/.*"tree": "\([0-9a-f]*\)".*/\1/p' "$work/deps.medo/example.org/hello-1.0.treeptr")
git init -q "$work/check.git" --bare
GIT_DIR="$work/check.git" GIT_WORK_TREE="$PWD/example/wedge" GIT_INDEX_FILE="$work/index" git add -A .
[ "$(GIT_DIR="$work/check.git" GIT_INDEX_FILE="$work/index" git write-tree)" = "$tree" ] && echo "git write-tree agrees: $tree"

echo "== medod, the mount daemon (here for this script only; on a build host systemd runs it)"
export MEDO_SOCKET="$work/medod.sock"
node bin/medod.js --socket "$MEDO_SOCKET" --state-dir "$work/medod-state" 2>"$work/medod.log" &
medod_pid=$!
for _ in $(seq 100); do [ -S "$MEDO_SOCKET" ] && grep -q '"medod ready"' "$work/medod.log" && break; sleep 0.1; done

echo "== medo mount: the medo directory, read-only"
mkdir -p "$mnt"
medo mount "$work/deps.medo" "$mnt"
ls -lR "$mnt"
echo "-- running the wedge's program from the mount:"
"$mnt/example.org/hello-1.0/bin/hello"
echo "-- the mount is read-only:"
if touch "$mnt/example.org/hello-1.0/new-file" 2>/dev/null; then echo "unexpected: write succeeded"; exit 1; else echo "touch: refused (read-only)"; fi
diff -r example/wedge "$mnt/example.org/hello-1.0" && echo "-- every file matches example/wedge"

medo status
medo unmount "$mnt"
echo "== unmounted; silo check:"
silo verify "$work/deps.silo"
