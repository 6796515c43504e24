#!/usr/bin/env bash
# Everything a fresh Debian machine with Node 20 needs: the system packages (git; libfuse and fuse3 for
# the mount; clang and its libFuzzer runtime for fuzz/native/), the npm packages (npm ci, building the
# native FUSE binding against Node's own headers offline), and the TypeScript build. Safe to re-run: it
# only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in git pkg-config libfuse-dev libfuse3-dev fuse3 zlib1g-dev xz-utils zstd attr nginx openssh-server openssh-client rsync squashfs-tools erofs-utils chromium clang libclang-rt-14-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# node-gyp must find Node's headers without downloading them.
export npm_config_nodedir="${npm_config_nodedir:-/usr}"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npx tsc -p tsconfig.json
# One file for the medo command: it starts faster (scripts/bundle.mjs says why).
node scripts/bundle.mjs
