// The portable kernels (kernels.inc as kernels.cc compiles it for a CPU without AVX: SSE2 on
// x86-64, NEON on ARM64) against plain double-precision definitions, as a program of its own:
// src/backend/native/portable.test.ts cross-compiles it for ARM64 (aarch64-linux-gnu-g++, static)
// and runs it under qemu-aarch64, so that the ARM path is compiled and checked on an x86-64
// machine; on an ARM64 host it compiles and runs natively. It checks every table the CPU offers,
// the portable one included (on ARM it is the only one). Prints "portable-check: ok ..." and exits
// 0, or one line per mismatch and exits 1.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "kernels.h"

namespace {

int failures = 0, checks = 0;
unsigned long seed = 12345;
float rnd() {  // uniform in [-1, 1)
  seed = seed * 6364136223846793005UL + 1442695040888963407UL;
  return static_cast<float>((seed >> 40) & 0xffffff) / 8388608.0f - 1.0f;
}

void expectClose(const char* isa, const char* what, long i, double got, double want, double tol) {
  checks++;
  if (!(std::fabs(got - want) <= tol) || std::isnan(got)) {
    if (failures++ < 20) std::printf("portable-check: %s %s [%ld]: got %.9g, want %.9g (tol %.3g)\n", isa, what, i, got, want, tol);
  }
}

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

void checkGemm(const rnnkit::KernelTable* kt) {
  std::vector<float> ws(kt->gemmWorkspaceFloats + 64);
  float* w = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(ws.data()) + 63) / 64 * 64);
  const long shapes[][3] = {{1, 7, 5}, {3, 33, 17}, {9, 50, 130}, {37, 5, 300}, {130, 70, 200}, {200, 20, 33}};
  for (const auto& sh : shapes) {
    for (int t = 0; t < 4; t++) {
      const bool tA = t & 1, tB = t & 2;
      const long m = sh[0], n = sh[1], k = sh[2], lda = (tA ? m : k) + 1, ldb = (tB ? k : n) + 2, ldc = n + 3;
      const float alpha = t == 3 ? -0.5f : 1.0f, beta = t == 1 ? 0.0f : t == 2 ? 0.5f : 1.0f;
      std::vector<float> a((tA ? k : m) * lda), b((tB ? n : k) * ldb), c(m * ldc), bias(n);
      for (auto& x : a) x = rnd();
      for (auto& x : b) x = rnd();
      for (auto& x : c) x = rnd();
      for (auto& x : bias) x = rnd();
      for (int withBias = 0; withBias < 2; withBias++) {
        std::vector<float> got = c;
        kt->gemm(tA, tB, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, got.data(), ldc, w, withBias ? bias.data() : nullptr);
        for (long i = 0; i < m; i++) {
          for (long j = 0; j < n; j++) {
            double s = 0, sa = 0;
            for (long p = 0; p < k; p++) {
              const double x = tA ? a[p * lda + i] : a[i * lda + p], y = tB ? b[j * ldb + p] : b[p * ldb + j];
              s += x * y;
              sa += std::fabs(x * y);
            }
            const double base = withBias ? bias[j] : beta * c[i * ldc + j];
            expectClose(kt->isa, withBias ? "gemm+bias" : "gemm", i * ldc + j, got[i * ldc + j], alpha * s + base, 1e-6 + 3e-7 * (k + 2) * (sa + 1));
          }
        }
      }
      // the packed right-hand side (A not transposed), with and without a bias
      if (!tA) {
        std::vector<float> packed(kt->packedFloats(k, n) + 16);
        kt->packBAll(tB, k, n, b.data(), ldb, packed.data());
        for (int withBias = 0; withBias < 2; withBias++) {
          std::vector<float> want = c, got = c;
          kt->gemm(false, tB, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, want.data(), ldc, w, withBias ? bias.data() : nullptr);
          kt->gemmPacked(m, n, k, alpha, a.data(), lda, packed.data(), n, 0, beta, got.data(), ldc, w, withBias ? bias.data() : nullptr);
          for (long q = 0; q < m * ldc; q++) expectClose(kt->isa, "gemmPacked", q, got[q], want[q], 1e-5 * (1 + std::fabs(want[q])));
        }
      }
    }
  }
}

void checkCells(const rnnkit::KernelTable* kt) {
  for (const long H : {1L, 5L, 16L, 37L}) {
    const long n = 3;
    std::vector<float> gates(n * 4 * H), cPrev(n * H), c(n * H), h(n * H);
    for (auto& x : gates) x = 6 * rnd();
    for (auto& x : cPrev) x = 2 * rnd();
    const std::vector<float> pre = gates;
    kt->lstmForward(n, H, gates.data(), cPrev.data(), c.data(), h.data(), false);
    for (long r = 0; r < n; r++) {
      for (long j = 0; j < H; j++) {
        const float* g = pre.data() + r * 4 * H;
        const double i_ = sigmoid(g[j]), f_ = sigmoid(g[H + j]), g_ = std::tanh(g[2 * H + j]), o_ = sigmoid(g[3 * H + j]);
        const double cv = f_ * cPrev[r * H + j] + i_ * g_;
        expectClose(kt->isa, "lstmForward c", r * H + j, c[r * H + j], cv, 1e-6 + 1e-5 * std::fabs(cv));
        expectClose(kt->isa, "lstmForward h", r * H + j, h[r * H + j], o_ * std::tanh(cv), 1e-6);
        expectClose(kt->isa, "lstmForward i", r * H + j, gates[r * 4 * H + j], i_, 1e-6);
      }
    }
    // backward from those activations
    std::vector<float> dh(n * H), dc(n * H), dG(n * 4 * H), dcPrev(n * H, 0.0f);
    for (auto& x : dh) x = rnd();
    for (auto& x : dc) x = rnd();
    kt->lstmBackward(n, H, gates.data(), cPrev.data(), c.data(), dh.data(), dc.data(), dG.data(), dcPrev.data(), false);
    for (long r = 0; r < n; r++) {
      for (long j = 0; j < H; j++) {
        const float* g = gates.data() + r * 4 * H;
        const double ig = g[j], fg = g[H + j], gg = g[2 * H + j], og = g[3 * H + j], tc = std::tanh(c[r * H + j]);
        const double dct = dc[r * H + j] + dh[r * H + j] * og * (1 - tc * tc);
        expectClose(kt->isa, "lstmBackward di", r * H + j, dG[r * 4 * H + j], dct * gg * ig * (1 - ig), 1e-6);
        expectClose(kt->isa, "lstmBackward dcPrev", r * H + j, dcPrev[r * H + j], dct * fg, 1e-6);
      }
    }
    // GRU (reset after) and the tanh RNN
    std::vector<float> gx(n * 3 * H), gh(n * 3 * H), hPrev(n * H), act(n * 3 * H), hg(n * H), hr(n * H);
    for (auto& x : gx) x = 4 * rnd();
    for (auto& x : gh) x = 4 * rnd();
    for (auto& x : hPrev) x = rnd();
    kt->gruForward(n, H, gx.data(), gh.data(), hPrev.data(), act.data(), hg.data(), false);
    kt->rnnForward(n * H, false, gx.data(), hr.data());
    for (long r = 0; r < n; r++) {
      for (long j = 0; j < H; j++) {
        const float *x = gx.data() + r * 3 * H, *q = gh.data() + r * 3 * H;
        const double rg = sigmoid(x[j] + q[j]), zg = sigmoid(x[H + j] + q[H + j]), ng = std::tanh(x[2 * H + j] + rg * q[2 * H + j]);
        expectClose(kt->isa, "gruForward h", r * H + j, hg[r * H + j], (1 - zg) * ng + zg * hPrev[r * H + j], 2e-6);
        expectClose(kt->isa, "rnnForward h", r * H + j, hr[r * H + j], std::tanh(gx[r * H + j]), 1e-6);
      }
    }
  }
}

void checkLosses(const rnnkit::KernelTable* kt) {
  const long rows = 4, V = 13;
  std::vector<float> logits(rows * V), d(rows * V);
  for (auto& x : logits) x = 5 * rnd();
  const int32_t targets[rows] = {0, 12, 5, -100};
  const double loss = kt->softmaxCrossEntropy(rows, V, logits.data(), targets, -100, 1.0f, d.data());
  double want = 0;
  for (long r = 0; r < rows; r++) {
    if (targets[r] < 0) continue;
    double mx = -1e30, s = 0;
    for (long v = 0; v < V; v++) mx = std::fmax(mx, logits[r * V + v]);
    for (long v = 0; v < V; v++) s += std::exp(logits[r * V + v] - mx);
    want += std::log(s) + mx - logits[r * V + targets[r]];
  }
  expectClose(kt->isa, "softmaxCrossEntropy", 0, loss, want, 1e-4 * (1 + std::fabs(want)));
}

}  // namespace

int main() {
  const rnnkit::KernelTable* tables[4];
  const int count = rnnkit::kernelTables(tables, 4);
  std::string names;
  for (int t = 0; t < count; t++) {
    checkGemm(tables[t]);
    checkCells(tables[t]);
    checkLosses(tables[t]);
    names += (t ? "," : "") + std::string(tables[t]->isa);
  }
  if (failures > 0) {
    std::printf("portable-check: %d of %d checks failed\n", failures, checks);
    return 1;
  }
  std::printf("portable-check: ok %d checks on %s\n", checks, names.c_str());
  return 0;
}
