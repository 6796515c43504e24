#!/usr/bin/env bash
# The benchmark suite in one command (docs/benchmarks.md, "The suite"): installs what it needs, then runs
# bench/suite.mjs with the same arguments. Needs root: it drops the page cache and mounts with FUSE.
#   bash bench/suite.sh [--quick] [--runs N] [--only NAME,...] [--backend highlevel,lowlevel] [--publish]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "suite: needs root (drop_caches, FUSE mounts): sudo bash bench/suite.sh $*" >&2
  exit 2
fi
bash scripts/setup.sh >&2

# The peers (mksquashfs, squashfuse_ll), and the host libraries that the Python dataset's interpreter and
# the modules it imports (ssl, pyexpat, zlib) load: the python3.11 .debs are unpacked, not installed.
need=()
for pkg in squashfs-tools squashfuse libssl3 libexpat1 zlib1g; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "suite: installing ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
exec node bench/suite.mjs "$@"
