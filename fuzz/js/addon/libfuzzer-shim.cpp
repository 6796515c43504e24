// The Jazzer.js addon is written against Code Intelligence's fork of libFuzzer, which the npm package would
// download from GitHub at build time. Debian's stock libFuzzer (libclang-rt-14-dev) lacks three of the
// fork's entry points; these forward them to the stock ones.
//
// - The fork's *_with_pc hooks take a fake program counter (a JavaScript edge id) so that value profiles
//   tell call sites apart. The stock hooks take the caller's address instead, which here is always this
//   file: comparisons still feed libFuzzer's table of recent compares (the mutation dictionary), only
//   -use_value_profile loses its per-site distinction.
// - The fork calls __jazzer_set_death_callback where stock libFuzzer calls the sanitizer's
//   __sanitizer_set_death_callback. The addon defines the former; without the latter the callback that
//   writes the crashing input would never be registered and a finding would call a null pointer.
#include <cstdint>

extern "C" {
void __sanitizer_cov_trace_const_cmp8(uint64_t arg1, uint64_t arg2);
void __sanitizer_cov_trace_pc_indir(uintptr_t callee);
void __jazzer_set_death_callback(void (*callback)());

void __sanitizer_cov_trace_const_cmp8_with_pc(uintptr_t, uint64_t arg1, uint64_t arg2) {
  __sanitizer_cov_trace_const_cmp8(arg1, arg2);
}

void __sanitizer_cov_trace_pc_indir_with_pc(void *, uintptr_t callee) { __sanitizer_cov_trace_pc_indir(callee); }

void __sanitizer_set_death_callback(void (*callback)()) { __jazzer_set_death_callback(callback); }
}
