#!/usr/bin/env bash
# The bundled example: put example/wedge/ into a git object store and a silo, then read it back through
# medo's own object layer and check it against git, byte for byte.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

git init -q --bare "$work/store.git"
export GIT_DIR="$work/store.git" GIT_WORK_TREE="$PWD/example/wedge" GIT_INDEX_FILE="$work/index"
git add -A .
tree=$(git write-tree)
unset GIT_WORK_TREE GIT_INDEX_FILE
echo "example wedge tree: $tree"
echo "--- silo ls-tree -r (medo's reader)"
node bin/silo.js ls-tree -r "$work/store.git" "$tree"

git ls-tree -r "$tree" | awk '{print $3}' > "$work/ids"
node bin/silo.js cat-file --batch "$work/store.git" < "$work/ids" > "$work/medo.out"
git cat-file --batch < "$work/ids" > "$work/git.out"
cmp "$work/medo.out" "$work/git.out"
echo "--- every object read by medo equals git cat-file --batch"

node bin/silo.js init "$work/example.silo" >/dev/null
node bin/silo.js verify "$work/example.silo"
