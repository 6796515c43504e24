// Stand-in for libFuzzer's internal FuzzerDefs.h, which the Jazzer.js addon sources include but Debian's
// libclang-rt-*-dev does not ship (it has the static library only). These two declarations are all the
// addon uses; their signatures are libFuzzer's own (compiler-rt/lib/fuzzer/FuzzerDefs.h), so the mangled
// names match the symbols in libclang_rt.fuzzer_no_main.
#pragma once
#include <cstddef>
#include <cstdint>

namespace fuzzer {
typedef int (*UserCallback)(const uint8_t *Data, size_t Size);
int FuzzerDriver(int *argc, char ***argv, UserCallback Callback);
} // namespace fuzzer
