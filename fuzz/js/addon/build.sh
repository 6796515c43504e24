#!/usr/bin/env bash
# Builds the native half of Jazzer.js (@jazzer.js/fuzzer) from the C++ sources its npm package ships,
# against Debian's libFuzzer, into node_modules/@jazzer.js/fuzzer/build/Release/jazzerjs.node (where the
# package's `bindings` call looks). package.json denies the package's own install script: it downloads a
# prebuilt binary from GitHub and falls back to a CMake build that downloads LLVM's compiler-rt from GitHub,
# and this machine reaches neither. Skipped when the addon is already built from the same inputs.
# Needs g++, Node's headers (/usr/include/node) and libclang-rt-14-dev (or another libclang-rt-*-dev).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
pkg="$root/node_modules/@jazzer.js/fuzzer"
napi="$root/node_modules/node-addon-api"
out="$pkg/build/Release/jazzerjs.node"
[ -d "$pkg" ] || { echo "fuzz: $pkg is missing; run npm ci first" >&2; exit 1; }

case "$(uname -m)" in
  x86_64) arch=x86_64 ;;
  aarch64) arch=aarch64 ;;
  *) echo "fuzz: no libFuzzer runtime name known for $(uname -m)" >&2; exit 1 ;;
esac
lib="$(ls -1 /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer_no_main-"$arch".a 2>/dev/null | sort -V | tail -1 || true)"
if [ -z "$lib" ]; then
  echo "fuzz: libFuzzer's runtime (libclang_rt.fuzzer_no_main-$arch.a) is not installed: apt-get install libclang-rt-14-dev" >&2
  exit 1
fi
node_inc="${npm_config_nodedir:-/usr}/include/node"
[ -f "$node_inc/node_api.h" ] || { echo "fuzz: Node's headers are not in $node_inc (set npm_config_nodedir)" >&2; exit 1; }

sources=("$pkg"/*.cpp "$pkg"/shared/*.cpp "$here/libfuzzer-shim.cpp")
stamp="$(cat "$0" "${sources[@]}" "$here/include/fuzzer/FuzzerDefs.h" "$pkg/package.json" | sha256sum | cut -c1-16) $lib $(node -p process.versions.napi)"
if [ -f "$out" ] && [ "$(cat "$out.stamp" 2>/dev/null)" = "$stamp" ]; then exit 0; fi

mkdir -p "$(dirname "$out")"
echo "fuzz: building $out against $lib" >&2
# -DNAPI_VERSION=4 as the package's CMakeLists.txt sets it; exceptions on, as node-addon-api's throws need.
g++ -std=c++17 -O2 -fPIC -shared -fexceptions -DNAPI_VERSION=4 -DNAPI_CPP_EXCEPTIONS \
  -I"$here/include" -I"$node_inc" -I"$napi" -I"$pkg" \
  "${sources[@]}" \
  -Wl,--whole-archive "$lib" -Wl,--no-whole-archive -lpthread \
  -o "$out.tmp"
mv "$out.tmp" "$out"
echo "$stamp" > "$out.stamp"
