// kernels.inc compiled once per instruction set, and the run-time choice among the copies.
// Only the copies the CPU supports are offered (`__builtin_cpu_supports`); the code is built with
// no -march flag, so the binary itself runs on any CPU of its architecture (x86-64, ARM64, ...).
#include "kernels.h"
#include <cstdint>
#include <cstdlib>
#if defined(__x86_64__)
#include <immintrin.h>  // the reciprocal estimates of the vector math (kernels.inc vrecip)
#endif

#define RK_TABLE(name)                                                                                         \
  const rnnkit::KernelTable table = {                                                                         \
      name, gemmWorkspaceFloats(), MR, NR, gemm, packedFloats, packBAll, gemmPacked, mathFn, broadcastRows, sumRows, gatherRows, scatterRows,     \
      axpy, rnnForward, rnnBackward, lstmForward, lstmBackward, gruForward, gruBackward, gruResetBeforeGates, \
      gruResetBeforeOutput, gruResetBeforeBackwardOutput, gruResetBeforeBackwardGates, softmaxCrossEntropy,   \
      softmax, mse, bceWithLogits, sumSquares, scale, mul, sgdStep, adamStep, rmspropStep, adagradStep,       \
  };

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define RK_X86 1
namespace rk_avx512 {
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma,bmi2")
// 8 x 48: 24 zmm accumulators, 3 for B, 1 broadcast; 8 rows divide the batch sizes of the
// per-step GEMMs (32, 64) where 12 rows computed 36 for 32
#define RK_VW 16
#define RK_MR 8
#define RK_NV 3
#define RK_MC 96
#define RK_KC 128
#include "kernels.inc"
#undef RK_VW
#undef RK_MR
#undef RK_NV
#undef RK_MC
#undef RK_KC
RK_TABLE("avx512")
#pragma GCC pop_options
}  // namespace rk_avx512

namespace rk_avx2 {
#pragma GCC push_options
#pragma GCC target("avx2,fma,bmi2")
#define RK_VW 8
#define RK_MR 6
#define RK_NV 2
#define RK_MC 96
#define RK_KC 256
#include "kernels.inc"
#undef RK_VW
#undef RK_MR
#undef RK_NV
#undef RK_MC
#undef RK_KC
RK_TABLE("avx2")
#pragma GCC pop_options
}  // namespace rk_avx2
#endif

// the portable copy: the compiler's baseline for this target (SSE2 on x86-64, NEON on ARM64)
namespace rk_generic {
#define RK_VW 4
#define RK_MR 4
#define RK_NV 2
#define RK_MC 96
#define RK_KC 256
#include "kernels.inc"
#undef RK_VW
#undef RK_MR
#undef RK_NV
#undef RK_MC
#undef RK_KC
RK_TABLE("generic")
}  // namespace rk_generic

int rnnkit::kernelTables(const KernelTable** out, int max) {
  int n = 0;
#ifdef RK_X86
  __builtin_cpu_init();
  if (n < max && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("fma"))
    out[n++] = &rk_avx512::table;
  if (n < max && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi2"))
    out[n++] = &rk_avx2::table;
#endif
  if (n < max) out[n++] = &rk_generic::table;
  return n;
}
