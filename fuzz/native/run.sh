#!/usr/bin/env bash
# Coverage-guided fuzzing of native/medo_core.c: fuzz/native/run.sh [SECONDS]
#
# Builds every fuzz_*.c here with clang's libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer
# (packages clang and libclang-rt-14-dev, which scripts/setup.sh installs), makes seed corpora from real
# git data (make-seeds.mts), checks that each target traps when its reference is spoilt on purpose
# (MEDO_FUZZ_SELFTEST=1: otherwise a property could be dead code), then fuzzes each target for SECONDS
# (default $MEDO_FUZZ_SECONDS, else 20). A long run is the same with a larger SECONDS.
#
# Fails on any crash, sanitizer report, property failure, timeout or memory limit, and then keeps its
# work directory, which holds the crashing inputs (artifacts/) and the logs. Prints one line per target:
#   fuzz: TARGET execs=N cov=N ft=N corpus=N seconds=N
# Work directory: $MEDO_FUZZ_WORK if set (kept), else a fresh temp dir (removed after a clean run).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
secs="${1:-${MEDO_FUZZ_SECONDS:-20}}"
[[ "$secs" =~ ^[0-9]+$ ]] && [ "$secs" -gt 0 ] || { echo "usage: $0 [SECONDS]" >&2; exit 2; }

cc="${CC:-}"
if [ -z "$cc" ]; then
  for c in clang clang-14; do command -v "$c" >/dev/null && { cc="$c"; break; }; done
fi
[ -n "$cc" ] || { echo "fuzz: no clang (apt packages clang libclang-rt-14-dev; scripts/setup.sh installs them)" >&2; exit 2; }

if [ -n "${MEDO_FUZZ_WORK:-}" ]; then
  work="$MEDO_FUZZ_WORK"
  keep=1
else
  work="$(mktemp -d "${TMPDIR:-/tmp}/medo-fuzz-native-XXXXXX")"
  keep=0
fi
mkdir -p "$work/bin" "$work/logs" "$work/artifacts"
failed=0
finish() {
  if [ "$failed" -ne 0 ] || [ "$keep" -eq 1 ]; then echo "fuzz: work directory kept: $work" >&2
  else rm -rf "$work"; fi
}
trap finish EXIT

targets=()
for src in "$here"/fuzz_*.c; do
  t="$(basename "$src" .c)"
  t="${t#fuzz_}"
  targets+=("$t")
  # A target may ask for flags of its own on a line "// fuzz-cflags: ...".
  read -r -a extra <<<"$(sed -nE 's|^// fuzz-cflags: *||p' "$src")"
  # -O1 keeps the code close to what runs while staying fast; the sanitizers stop at the first report.
  if ! "$cc" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Wall -Wextra ${extra[@]+"${extra[@]}"} \
      -I"$root/native" -o "$work/bin/fuzz_$t" "$src" "$root/native/medo_core.c" -lz 2>"$work/logs/build-$t.log"; then
    cat "$work/logs/build-$t.log" >&2
    echo "fuzz: building $t failed (needs clang's libFuzzer: apt package libclang-rt-14-dev)" >&2
    failed=1
    exit 1
  fi
  [ -s "$work/logs/build-$t.log" ] && cat "$work/logs/build-$t.log" >&2
done

(cd "$root" && npx tsx fuzz/native/make-seeds.mts "$work/seeds") >"$work/logs/seeds.log" 2>&1 || {
  cat "$work/logs/seeds.log" >&2
  failed=1
  exit 1
}

# Bounded memory and time per input: inputs up to 64 KiB (the largest seed), no allocation over 64 MiB
# (the targets cap their own results well below), 512 MiB in all, 10 s per input.
limits=(-max_len=65536 -rss_limit_mb=512 -malloc_limit_mb=64 -timeout=10)
# ASan's quarantine of freed blocks (256 MiB by default) would fill most of that RSS limit by itself.
export ASAN_OPTIONS="quarantine_size_mb=32${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

# A report of any kind, beyond libFuzzer's exit status.
reported() {
  grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|runtime error:|property failed' "$1"
}

for t in "${targets[@]}"; do
  log="$work/logs/selftest-$t.log"
  mkdir -p "$work/artifacts/selftest"
  if MEDO_FUZZ_SELFTEST=1 "$work/bin/fuzz_$t" -runs=0 "${limits[@]}" -artifact_prefix="$work/artifacts/selftest/$t-" \
      "$work/seeds/$t" >"$log" 2>&1 || ! grep -q 'property failed' "$log"; then
    echo "fuzz: self-test: $t did not trap on a spoilt reference (see $log)" >&2
    failed=1
  else
    echo "self-test: $t trapped"
  fi
done
[ "$failed" -eq 0 ] || exit 1

for t in "${targets[@]}"; do
  log="$work/logs/fuzz-$t.log"
  mkdir -p "$work/corpus/$t"
  status=0
  # New inputs go to corpus/ (the first directory); seeds/ is only read.
  "$work/bin/fuzz_$t" -max_total_time="$secs" "${limits[@]}" -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/$t-" "$work/corpus/$t" "$work/seeds/$t" >"$log" 2>&1 || status=$?
  # libFuzzer's last status line: "#N DONE cov: C ft: F corp: K/SIZE ...".
  last="$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)"
  execs="$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n 1)"
  cov="$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")"
  ft="$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")"
  corp="$(sed -nE 's/.* corp: ([0-9]+)\/.*/\1/p' <<<"$last")"
  echo "fuzz: $t execs=${execs:-0} cov=${cov:-0} ft=${ft:-0} corpus=${corp:-0} seconds=$secs"
  if [ "$status" -ne 0 ] || reported "$log"; then
    grep -E 'ERROR:|runtime error:|property failed|SUMMARY|Test unit written' "$log" >&2 || true
    echo "fuzz: $t failed (exit $status, log $log)" >&2
    failed=1
  fi
done
exit "$failed"
