// The native backend's kernel table: one copy per instruction set (kernels.cc), chosen at run time.
#pragma once
#include <cstdint>

namespace rnnkit {

struct KernelTable {
  const char* isa;
  long gemmWorkspaceFloats;
  int mr, nr;
  void (*gemm)(bool transA, bool transB, long m, long n, long k, float alpha, const float* a, long lda,
               const float* b, long ldb, float beta, float* c, long ldc, float* ws, const float* bias);
  long (*packedFloats)(long k, long n);
  void (*packBAll)(bool transB, long k, long n, const float* b, long ldb, float* out);
  void (*gemmPacked)(long m, long n, long k, float alpha, const float* a, long lda, const float* packed, long nTotal, long j0,
                     float beta, float* c, long ldc, float* ws, const float* bias);
  void (*mathFn)(int fn, long n, const float* x, float* out);
  void (*broadcastRows)(long rows, long cols, const float* v, float* dst, long ldd, bool accumulate);
  void (*sumRows)(long rows, long cols, const float* a, long lda, float* out);
  void (*gatherRows)(long rows, long cols, const int32_t* idx, const float* src, long lds, float* dst, long ldd, bool acc);
  void (*scatterRows)(long rows, long cols, const int32_t* idx, const float* src, long lds, float* dst, long ldd, bool acc);
  void (*axpy)(long n, float alpha, const float* src, float* dst);
  void (*rnnForward)(long count, bool relu, const float* pre, float* h);
  void (*rnnBackward)(long count, bool relu, const float* h, const float* dh, float* dPre);
  void (*lstmForward)(long n, long H, float* gates, const float* cPrev, float* c, float* h, bool hard);
  void (*lstmBackward)(long n, long H, const float* gates, const float* cPrev, const float* c, const float* dh,
                       const float* dc, float* dG, float* dcPrev, bool hard);
  void (*gruForward)(long n, long H, const float* gx, const float* gh, const float* hPrev, float* act, float* h, bool hard);
  void (*gruBackward)(long n, long H, const float* act, const float* gh, const float* hPrev, const float* dh,
                      float* dGx, float* dGh, float* dhPrev, bool hard);
  void (*gruResetBeforeGates)(long n, long H, const float* gx, const float* gh, const float* hPrev, float* act, float* rh, bool hard);
  void (*gruResetBeforeOutput)(long n, long H, const float* gx, const float* gh, const float* hPrev, float* act, float* h);
  void (*gruResetBeforeBackwardOutput)(long n, long H, const float* act, const float* hPrev, const float* dh, float* dG,
                                       float* dhPrev, bool hard);
  void (*gruResetBeforeBackwardGates)(long n, long H, const float* act, const float* hPrev, const float* drh, float* dG,
                                      float* dhPrev, bool hard);
  double (*softmaxCrossEntropy)(long rows, long V, const float* logits, const int32_t* targets, int32_t ignoreIndex,
                                float scale, float* dLogits);
  void (*softmax)(long rows, long V, float temperature, const float* x, float* out);
  double (*mse)(long n, const float* p, const float* t, const float* w, float scale, float* grad);
  double (*bceWithLogits)(long n, const float* x, const float* t, const float* w, float scale, float* grad);
  double (*sumSquares)(long n, const float* a);
  void (*scale)(long n, float alpha, float* a);
  void (*mul)(long n, const float* a, const float* b, float* out);
  void (*sgdStep)(long n, float* p, const float* g, float* buf, float lr, float momentum, bool nesterov, float wd, bool first);
  void (*adamStep)(long n, float* p, const float* g, float* m, float* v, float lr, float beta1, float beta2, float eps,
                   float wd, bool decoupled, float bc1, float bc2);
  void (*rmspropStep)(long n, float* p, const float* g, float* s, float lr, float alpha, float eps, float wd);
  void (*adagradStep)(long n, float* p, const float* g, float* s, float lr, float eps, float wd);
};

/** The kernel tables this CPU can run, best first (the last is the portable one). */
int kernelTables(const KernelTable** out, int max);

}  // namespace rnnkit
