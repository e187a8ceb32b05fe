// The native backend's Node-API addon (node-addon-api): the JavaScript entry points of the kernels
// and the thread pool. src/backend/native/native.ts is its only caller and documents each kernel's
// JavaScript signature; this file checks every array against the extent the kernel will touch
// (a bad offset or size is a RangeError, never a write outside the array) and calls the kernel
// table of the instruction set chosen at load (kernels.cc).
//
// Arrays are Float32Array / Int32Array of any origin (JavaScript-allocated ArrayBuffers included);
// the addon reads their data pointer (napi_get_typedarray_info) and copies nothing.
#include <napi.h>

#include <atomic>
#if defined(__unix__) || defined(__APPLE__)
#include <dlfcn.h>
#endif
#include <chrono>
#include <condition_variable>
#include <cmath>
#include <cstdlib>
#include <climits>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kernels.h"

using rnnkit::KernelTable;

namespace {

const KernelTable* tables[4];
int tableCount = 0;
const KernelTable* K = nullptr;

// ---- per-thread GEMM workspace (64-byte aligned, grown on demand) ----

float* workspace(long floats) {
  thread_local float* ws = nullptr;
  thread_local long have = 0;
  if (have < floats) {
    std::free(ws);
    ws = static_cast<float*>(std::aligned_alloc(64, ((floats * 4 + 63) / 64) * 64));
    have = ws ? floats : 0;
    if (!ws) throw std::bad_alloc();
  }
  return ws;
}

// ---- the thread pool ----

/**
 * One split GEMM at a time: another JavaScript thread (a worker_threads Worker) that calls
 * meanwhile runs on its own thread rather than waiting for the pool.
 */
std::atomic<bool> poolBusy{false};

/**
 * A fixed set of worker threads that run one job at a time together with the calling thread.
 * A job is a function of the thread index; the caller runs index 0. Idle workers spin briefly
 * (waking a sleeping thread costs tens of microseconds, as long as a small GEMM) and then sleep
 * on a condition variable.
 */
class Pool {
 public:
  ~Pool() { resize(1); }

  int size() const { return size_.load(); }

  /**
   * Replaces the workers by threads - 1 new ones. One resize at a time (worker threads of Node
   * each load the addon and may set the threads at once: two resizes joined the same threads and
   * hung), and only while no job runs: it takes the pool's claim (poolBusy) first.
   */
  void resize(int threads) {
    if (threads < 1) threads = 1;
    std::lock_guard<std::mutex> one(resizeMu_);
    if (threads == size()) return;
    while (poolBusy.exchange(true)) std::this_thread::yield();
    {
      std::lock_guard<std::mutex> lock(mu_);
      quit_.store(true);
      gen_.fetch_add(1);
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
    quit_.store(false);
    // each worker starts from the generation of now: a job posted before the thread first runs
    // is still seen as new
    const uint64_t start = gen_.load();
    for (int t = 1; t < threads; t++) workers_.emplace_back([this, t, start] { loop(t, start); });
    size_.store(threads);
    poolBusy.store(false);
  }

  /**
   * Runs fn(t) for the caller (t = 0) and for each worker t < threads that joins before the
   * caller's own part is done; returns when all who joined are done. `fn` must split its work
   * so that any subset of the threads completes it (the GEMMs claim chunks from one counter): a
   * worker that was descheduled (a loaded machine) or asleep is then never waited for.
   */
  template <class F>
  void run(int threads, F&& fn) {
    if (threads > size()) threads = size();
    if (threads <= 1) {
      fn(0);
      return;
    }
    std::function<void(int)> job = fn;
    // a seqlock: the job's fields are valid for the workers while jobGen_ holds the new generation
    const uint64_t g = gen_.load() + 1;
    jobGen_.store(0);
    job_.store(&job);
    jobThreads_.store(threads);
    done_.store(0);
    entry_.store(g << 32);
    jobGen_.store(g);
    {
      std::lock_guard<std::mutex> lock(mu_);
      gen_.store(g);
    }
    cv_.notify_all();
    std::exception_ptr err;
    try {
      fn(0);
    } catch (...) {
      err = std::current_exception();
    }
    // close the job: workers that have not joined by now stay out of it
    const uint64_t joined = entry_.fetch_or(CLOSED) & COUNT;
    // the joined workers finish their last chunks: spin briefly, then yield, so that a worker
    // sharing this core gets to run instead of waiting out our time slice
    for (int i = 0; done_.load() != joined; i++) {
      if (i < 4096) cpuRelax();
      else std::this_thread::yield();
    }
    job_.store(nullptr);
    if (err) std::rethrow_exception(err);
  }

 private:
  static void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    std::this_thread::yield();
#endif
  }

  void loop(int t, uint64_t seen) {
    for (;;) {
      // poll for the next job for about 100 us (waking from the condition variable costs tens of
      // microseconds, the length of a small GEMM), yielding between polls after the first few
      // thousand, so that an idle worker gives way to other threads of this core
      uint64_t g = gen_.load();
      const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(100);
      for (int spin = 0; g == seen; spin++) {
        if (spin < 2048) cpuRelax();
        else if ((spin & 63) == 0 && std::chrono::steady_clock::now() > until) break;
        else std::this_thread::yield();
        g = gen_.load();
      }
      if (g == seen) {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return gen_.load() != seen; });
        g = gen_.load();
      }
      seen = g;
      if (quit_.load()) return;
      // run the job of generation g once, if this thread is part of it (a later job's fields,
      // half written, fail the generation check)
      const uint64_t g1 = jobGen_.load();
      std::function<void(int)>* job = job_.load();
      const int threads = jobThreads_.load();
      if (g1 != g || jobGen_.load() != g || job == nullptr || t >= threads) continue;
      // join the job of generation g unless the caller closed it already
      uint64_t e = entry_.load();
      bool joined = false;
      while ((e >> 32) == g && !(e & CLOSED)) {
        if (entry_.compare_exchange_weak(e, e + 1)) {
          joined = true;
          break;
        }
      }
      if (!joined) continue;
      try {
        (*job)(t);
      } catch (...) {
        // kernels do not throw; a failed workspace allocation leaves this part undone
      }
      done_.fetch_add(1);
    }
  }

  std::vector<std::thread> workers_;
  std::atomic<int> size_{1};
  std::mutex resizeMu_;
  std::atomic<uint64_t> gen_{0};
  std::atomic<uint64_t> jobGen_{0};
  /** (generation << 32) | CLOSED | workers that joined; and the joined workers that are done. */
  static constexpr uint64_t CLOSED = 1ull << 31;
  static constexpr uint64_t COUNT = CLOSED - 1;
  std::atomic<uint64_t> entry_{0};
  std::atomic<uint64_t> done_{0};
  std::atomic<std::function<void(int)>*> job_{nullptr};
  std::atomic<int> jobThreads_{0};
  std::atomic<bool> quit_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

struct PoolClaim {
  bool held;
  PoolClaim() : held(!poolBusy.exchange(true)) {}
  ~PoolClaim() {
    if (held) poolBusy.store(false);
  }
};

Pool* pool = nullptr;
/** m*n*k from which a GEMM is split across the pool (set from JavaScript, defaults.ts). */
double parallelWork = 1 << 20;
/** GEMMs that ran split, and forward loops whose batch ran split (diagnostics and tests). */
double splitGemms = 0;
double splitLoops = 0;

/**
 * Whether splitting a GEMM pays, learned per size class (log2 of m*n*k, above parallelWork) from
 * the time per multiply-add of each choice (an average over the recent calls; every 16th call of a
 * class tries the other choice). Where the cores are free a split wins and is kept; where other
 * processes keep them busy, a split waits for a descheduled worker and loses, and the class runs
 * on one thread: a problem is then never slower than on one thread for long.
 */
struct SplitChoice {
  std::atomic<double> cost[2] = {0.0, 0.0};  // ns per multiply-add: [0] one thread, [1] split
  std::atomic<unsigned> calls{0};
};
SplitChoice splitChoice[64];
bool adaptiveSplit = true;

int sizeClass(double work) {
  int e = 0;
  std::frexp(work, &e);
  return e < 0 ? 0 : e > 63 ? 63 : e;
}

bool wantSplit(int cls) {
  if (!adaptiveSplit) return true;
  SplitChoice& s = splitChoice[cls];
  const unsigned n = s.calls.fetch_add(1, std::memory_order_relaxed);
  const double one = s.cost[0].load(std::memory_order_relaxed), split = s.cost[1].load(std::memory_order_relaxed);
  if (one == 0) return false;  // measure each choice once first
  if (split == 0) return true;
  const bool better = split < one;
  return (n & 15) == 15 ? !better : better;
}

void recordCost(int cls, bool split, std::chrono::steady_clock::time_point t0, double work) {
  const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / work;
  std::atomic<double>& a = splitChoice[cls].cost[split ? 1 : 0];
  const double v = a.load(std::memory_order_relaxed);
  a.store(v == 0 ? ns : 0.75 * v + 0.25 * ns, std::memory_order_relaxed);
}

// ---- argument helpers ----

// Bad arguments throw the error class registered by setErrorClass (rnnkit's RnnkitError, so that
// native.ts forwards every call as it is, with no try/catch around each); before that, a
// RangeError. The class is kept per Node environment (instance data), as a worker thread that
// loads the addon has its own.
[[noreturn]] void fail(napi_env env, const std::string& msg) {
  Napi::Env e(env);
  Napi::FunctionReference* cls = e.GetInstanceData<Napi::FunctionReference>();
  if (cls != nullptr && !cls->IsEmpty()) throw Napi::Error(env, cls->New({Napi::String::New(env, msg)}));
  throw Napi::RangeError::New(env, msg);
}

// setErrorClass(ctor): the constructor fail() throws with (one string argument, the message)
Napi::Value SetErrorClass(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsFunction()) fail(info.Env(), "native backend: setErrorClass: expected a constructor");
  info.Env().SetInstanceData<Napi::FunctionReference>(new Napi::FunctionReference(Napi::Persistent(info[0].As<Napi::Function>())));
  return info.Env().Undefined();
}

long num(const Napi::CallbackInfo& info, size_t i) {
  int64_t v = 0;
  if (napi_get_value_int64(info.Env(), info[i], &v) != napi_ok) fail(info.Env(), "native backend: argument " + std::to_string(i) + ": expected a number");
  return static_cast<long>(v);
}
double dbl(const Napi::CallbackInfo& info, size_t i) {
  double v = 0;
  if (napi_get_value_double(info.Env(), info[i], &v) != napi_ok) fail(info.Env(), "native backend: argument " + std::to_string(i) + ": expected a number");
  return v;
}
bool flag(const Napi::CallbackInfo& info, size_t i) {
  bool v = false;
  if (napi_get_value_bool(info.Env(), info[i], &v) != napi_ok) fail(info.Env(), "native backend: argument " + std::to_string(i) + ": expected a boolean");
  return v;
}

/**
 * The data of typed array info[i] (element type `type`) at element `off`, checked to hold
 * `extent` elements from there; `what` names it in the error.
 */
void* valueAt(napi_env env, napi_value v, napi_typedarray_type type, long off, long extent, const char* what) {
  napi_typedarray_type t;
  size_t length = 0, byteOffset = 0;
  void* data = nullptr;
  napi_value ab;
  bool isTa = false;
  napi_is_typedarray(env, v, &isTa);
  if (!isTa || napi_get_typedarray_info(env, v, &t, &length, &data, &ab, &byteOffset) != napi_ok || t != type) {
    fail(env, std::string("native backend: ") + what + ": expected a " +
                  (type == napi_float32_array ? "Float32Array" : "Int32Array"));
  }
  if (extent <= 0) return data;
  if (off < 0 || static_cast<unsigned long>(off + extent) > length) {
    fail(env, std::string("native backend: ") + what + ": expected elements [" + std::to_string(off) + ", " +
                  std::to_string(off + extent) + "), got an array of length " + std::to_string(length));
  }
  return static_cast<char*>(data) + 4 * off;
}

void* arrayAt(const Napi::CallbackInfo& info, size_t i, napi_typedarray_type type, long off, long extent, const char* what) {
  return valueAt(info.Env(), info[i], type, off, extent, what);
}

float* F(const Napi::CallbackInfo& info, size_t i, long off, long extent, const char* what) {
  return static_cast<float*>(arrayAt(info, i, napi_float32_array, off, extent, what));
}
int32_t* I(const Napi::CallbackInfo& info, size_t i, long off, long extent, const char* what) {
  return static_cast<int32_t*>(arrayAt(info, i, napi_int32_array, off, extent, what));
}

/** Elements a row-major window of `rows` x `cols` with row stride `ld` spans. */
long span(long rows, long cols, long ld) { return rows > 0 && cols > 0 ? (rows - 1) * ld + cols : 0; }

void checkLd(const Napi::CallbackInfo& info, const char* what, long ld, long cols) {
  if (ld < cols) fail(info.Env(), std::string("native backend: ") + what + ": expected a leading dimension >= " + std::to_string(cols) + ", got " + std::to_string(ld));
}

Napi::Value undef(const Napi::CallbackInfo& info) { return info.Env().Undefined(); }

// ---- GEMM ----

/**
 * C = alpha op(A) op(B) + beta C (or, with `bias` [n], + bias in every row, beta ignored), split
 * across the pool by column or row blocks when large.
 */
void gemmAny(bool tA, bool tB, long m, long n, long k, float alpha, const float* a, long lda, const float* b, long ldb,
             float beta, float* c, long ldc, const float* bias) {
  const KernelTable* kt = K;
  const double work = static_cast<double>(m) * n * k;
  const int threads = pool ? pool->size() : 1;
  if (threads <= 1 || k <= 0 || work < parallelWork) {
    kt->gemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, workspace(kt->gemmWorkspaceFloats), bias);
    return;
  }
  // cut the larger of m and n into chunks of whole micro-tiles, claimed from one counter
  const bool byCols = n >= m;
  const long unit = byCols ? kt->nr : kt->mr;
  const long total = byCols ? n : m;
  const long units = (total + unit - 1) / unit;
  const int used = static_cast<int>(units < threads ? units : threads);
  const int cls = sizeClass(work);
  const auto t0 = std::chrono::steady_clock::now();
  PoolClaim claim;
  if (used <= 1 || !claim.held || !wantSplit(cls)) {
    kt->gemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, workspace(kt->gemmWorkspaceFloats), bias);
    if (used > 1 && claim.held) recordCost(cls, false, t0, work);
    return;
  }
  long chunkUnits = (units + 2 * used - 1) / (2 * used);  // two chunks per thread: a late thread does less
  const long minUnits = byCols ? 4 : 8;
  if (chunkUnits < minUnits) chunkUnits = minUnits;
  const long chunk = chunkUnits * unit;
  const long chunks = (total + chunk - 1) / chunk;
  std::atomic<long> next{0};
  splitGemms++;
  pool->run(used, [&](int) {
    float* ws = workspace(kt->gemmWorkspaceFloats);
    for (long q = next.fetch_add(1); q < chunks; q = next.fetch_add(1)) {
      const long s0 = q * chunk;
      const long len = total - s0 < chunk ? total - s0 : chunk;
      if (byCols) {
        kt->gemm(tA, tB, m, len, k, alpha, a, lda, b + (tB ? s0 * ldb : s0), ldb, beta, c + s0, ldc, ws, bias ? bias + s0 : nullptr);
      } else {
        kt->gemm(tA, tB, len, n, k, alpha, a + (tA ? s0 : s0 * lda), lda, b, ldb, beta, c + s0 * ldc, ldc, ws, bias);
      }
    }
  });
  recordCost(cls, true, t0, work);
}

/**
 * gemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc) and
 * gemmBias(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, bias, biasOff, c, cOff, ldc):
 * the same arguments but for beta, which gemmBias replaces by the row vector bias [n].
 */
Napi::Value gemmCall(const Napi::CallbackInfo& info, bool withBias) {
  // the arrays' names for messages, as literals: no string is built on this hot path
  const char* const nameA = withBias ? "gemmBias A" : "gemm A";
  const char* const nameB = withBias ? "gemmBias B" : "gemm B";
  const char* const nameC = withBias ? "gemmBias C" : "gemm C";
  const bool tA = flag(info, 0), tB = flag(info, 1);
  const long m = num(info, 2), n = num(info, 3), k = num(info, 4);
  const float alpha = static_cast<float>(dbl(info, 5));
  const long lda = num(info, 8), ldb = num(info, 11), ldc = num(info, withBias ? 16 : 15);
  const float beta = withBias ? 1.0f : static_cast<float>(dbl(info, 12));
  if (m <= 0 || n <= 0) return undef(info);
  const long aRows = tA ? k : m, aCols = tA ? m : k, bRows = tB ? n : k, bCols = tB ? k : n;
  const bool reads = k > 0 && alpha != 0;
  if (reads) {
    checkLd(info, nameA, lda, aCols);
    checkLd(info, nameB, ldb, bCols);
  }
  checkLd(info, nameC, ldc, n);
  const float* a = F(info, 6, num(info, 7), reads ? span(aRows, aCols, lda) : 0, nameA);
  const float* b = F(info, 9, num(info, 10), reads ? span(bRows, bCols, ldb) : 0, nameB);
  const float* bias = withBias ? F(info, 12, num(info, 13), n, "gemmBias bias") : nullptr;
  float* c = F(info, withBias ? 14 : 13, num(info, withBias ? 15 : 14), span(m, n, ldc), nameC);
  gemmAny(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias);
  return undef(info);
}
Napi::Value Gemm(const Napi::CallbackInfo& info) { return gemmCall(info, false); }
Napi::Value GemmBias(const Napi::CallbackInfo& info) { return gemmCall(info, true); }

// ---- GEMM with B packed once ----

constexpr int32_t PACK_MAGIC = 0x42504b52;  // "RKPB"

int tableIndex(const KernelTable* kt) {
  for (int i = 0; i < tableCount; i++) if (tables[i] == kt) return i;
  return -1;
}

// packedSize(k, n) -> floats packB needs for op(B) [k, n] with the kernels in use
Napi::Value PackedSize(const Napi::CallbackInfo& info) {
  const long k = num(info, 0), n = num(info, 1);
  if (k < 0 || n < 0) fail(info.Env(), "native backend: packedSize: expected k, n >= 0, got " + std::to_string(k) + ", " + std::to_string(n));
  return Napi::Number::New(info.Env(), static_cast<double>(K->packedFloats(k, n)));
}

// packB(transB, k, n, b, bOff, ldb, out): op(B) [k, n] into out (packedSize(k, n) floats)
Napi::Value PackB(const Napi::CallbackInfo& info) {
  const bool tB = flag(info, 0);
  const long k = num(info, 1), n = num(info, 2), ldb = num(info, 5);
  if (k < 0 || n < 0) fail(info.Env(), "native backend: packB: expected k, n >= 0, got " + std::to_string(k) + ", " + std::to_string(n));
  const long bRows = tB ? n : k, bCols = tB ? k : n;
  if (k > 0 && n > 0) checkLd(info, "packB B", ldb, bCols);
  const float* b = F(info, 3, num(info, 4), k > 0 && n > 0 ? span(bRows, bCols, ldb) : 0, "packB B");
  float* out = F(info, 6, 0, K->packedFloats(k, n), "packB out");
  const int32_t head[4] = {PACK_MAGIC, tableIndex(K), static_cast<int32_t>(k), static_cast<int32_t>(n)};
  std::memcpy(out, head, sizeof head);
  if (k > 0 && n > 0) K->packBAll(tB, k, n, b, ldb, out);
  return undef(info);
}

void gemmPackedAny(const KernelTable* kt, long m, long n, long k, float alpha, const float* a, long lda, const float* packed,
                   float beta, float* c, long ldc, const float* bias = nullptr);

/** Checks that v holds op(B) packed by packB for [k, n] with the kernels `kt`; returns it. */
const float* packedValue(const Napi::CallbackInfo& info, napi_value v, const KernelTable* kt, long k, long n, const char* what) {
  const float* packed = static_cast<const float*>(valueAt(info.Env(), v, napi_float32_array, 0, 4, what));
  int32_t head[4];
  std::memcpy(head, packed, sizeof head);
  if (head[0] != PACK_MAGIC || head[1] != tableIndex(kt) || head[2] != k || head[3] != n) {
    fail(info.Env(), std::string("native backend: ") + what + ": expected op(B) packed by packB for k = " + std::to_string(k) + ", n = " +
                         std::to_string(n) + " with the " + kt->isa + " kernels, got " +
                         (head[0] != PACK_MAGIC ? std::string("an array packB did not write")
                                                : "k = " + std::to_string(head[2]) + ", n = " + std::to_string(head[3]) + " (" +
                                                      (head[1] >= 0 && head[1] < tableCount ? tables[head[1]]->isa : "?") + ")"));
  }
  return static_cast<const float*>(valueAt(info.Env(), v, napi_float32_array, 0, kt->packedFloats(k, n), what));
}

const float* packedAt(const Napi::CallbackInfo& info, size_t i, const KernelTable* kt, long k, long n, const char* what) {
  return packedValue(info, info[i], kt, k, n, what);
}

// gemmPacked(m, n, k, alpha, a, aOff, lda, packed, beta, c, cOff, ldc): C = alpha A op(B) + beta C
Napi::Value GemmPacked(const Napi::CallbackInfo& info) {
  const long m = num(info, 0), n = num(info, 1), k = num(info, 2), lda = num(info, 6), ldc = num(info, 11);
  const float alpha = static_cast<float>(dbl(info, 3)), beta = static_cast<float>(dbl(info, 8));
  const KernelTable* kt = K;
  const float* packed = packedAt(info, 7, kt, k, n, "gemmPacked packed");
  if (m <= 0 || n <= 0) return undef(info);
  const bool reads = k > 0 && alpha != 0;
  if (reads) checkLd(info, "gemmPacked A", lda, k);
  checkLd(info, "gemmPacked C", ldc, n);
  const float* a = F(info, 4, num(info, 5), reads ? span(m, k, lda) : 0, "gemmPacked A");
  float* c = F(info, 9, num(info, 10), span(m, n, ldc), "gemmPacked C");
  gemmPackedAny(kt, m, n, k, alpha, a, lda, packed, beta, c, ldc);
  return undef(info);
}

/** C = alpha A op(B) + beta C with op(B) packed (checked by the caller), split across the pool when large. */
void gemmPackedAny(const KernelTable* kt, long m, long n, long k, float alpha, const float* a, long lda, const float* packed,
                   float beta, float* c, long ldc, const float* bias) {
  const bool reads = k > 0 && alpha != 0;
  const double work = static_cast<double>(m) * n * k;
  const int threads = pool ? pool->size() : 1;
  std::unique_ptr<PoolClaim> claim;
  if (threads > 1 && reads && work >= parallelWork) claim.reset(new PoolClaim());
  const int cls = sizeClass(work);
  const auto t0 = std::chrono::steady_clock::now();
  if (!claim || !claim->held || !wantSplit(cls)) {
    kt->gemmPacked(m, n, k, alpha, a, lda, packed, n, 0, beta, c, ldc, workspace(kt->gemmWorkspaceFloats), bias);
    if (claim && claim->held) recordCost(cls, false, t0, work);
    return;
  }
  // columns in whole slivers (NR), or rows in whole micro-tiles when there are more of them
  const bool byCols = n >= m;
  const long unit = byCols ? kt->nr : kt->mr;
  const long total = byCols ? n : m;
  const long units = (total + unit - 1) / unit;
  const int used = static_cast<int>(units < threads ? units : threads);
  long chunkUnits = (units + 2 * used - 1) / (2 * used);
  if (chunkUnits < 2) chunkUnits = 2;
  const long chunk = chunkUnits * unit;
  const long chunks = (total + chunk - 1) / chunk;
  std::atomic<long> next{0};
  splitGemms++;
  pool->run(used, [&](int) {
    float* ws = workspace(kt->gemmWorkspaceFloats);
    for (long q = next.fetch_add(1); q < chunks; q = next.fetch_add(1)) {
      const long s0 = q * chunk;
      const long len = total - s0 < chunk ? total - s0 : chunk;
      if (byCols) kt->gemmPacked(m, len, k, alpha, a, lda, packed, n, s0, beta, c + s0, ldc, ws, bias ? bias + s0 : nullptr);
      else kt->gemmPacked(len, n, k, alpha, a + s0 * lda, lda, packed, n, 0, beta, c + s0 * ldc, ldc, ws, bias);
    }
  });
  recordCost(cls, true, t0, work);
}

/** One direction's buffers for recurrentForward. */
struct Direction {
  const float* whh;
  const float* bhh;
  float *gates, *gh, *act, *hPrev, *h, *cPrev, *c;
};

/**
 * The forward loop of one direction (see Backend.recurrentForward) over the rows [r0, r1) of the
 * sorted batch: at step s those are rows offsets[s] + r for r0 <= r < min(r1, batchSizes[s]), and
 * the same sequence was at offsets[s-1] + r the step before. Sequences never mix, so disjoint row
 * ranges run on different threads with no synchronisation inside the loop. GEMMs split across the
 * pool when it is free (never when a caller holds it).
 */
void runDirection(const KernelTable* kt, long cell, bool hard, bool relu, long steps, const int32_t* offsets, const int32_t* sizes,
                  long H, const Direction& d, long r0 = 0, long r1 = LONG_MAX) {
  const long G = cell == 0 ? 4 : cell == 1 ? 3 : 1, GH = G * H;
  for (long s = 0; s < steps; s++) {
    const long hi = r1 < sizes[s] ? r1 : sizes[s];
    if (hi <= r0) break;  // batch sizes never grow: no later step has rows in the range either
    const long o = offsets[s] + r0, n = hi - r0;
    if (s > 0) {
      const long p = offsets[s - 1] + r0;
      std::memmove(d.hPrev + o * H, d.h + p * H, 4 * n * H);
      if (cell == 0) std::memmove(d.cPrev + o * H, d.c + p * H, 4 * n * H);
    }
    if (cell == 1) {
      // gh = h_prev W_hh^T + b_hh, the bias written with the product (never a pass of its own)
      gemmPackedAny(kt, n, GH, H, 1, d.hPrev + o * H, H, d.whh, 0, d.gh + o * GH, GH, d.bhh);
      kt->gruForward(n, H, d.gates + o * GH, d.gh + o * GH, d.hPrev + o * H, d.act + o * GH, d.h + o * H, hard);
    } else {
      gemmPackedAny(kt, n, GH, H, 1, d.hPrev + o * H, H, d.whh, 1, d.gates + o * GH, GH);
      if (cell == 0) kt->lstmForward(n, H, d.gates + o * GH, d.cPrev + o * H, d.c + o * H, d.h + o * H, hard);
      else kt->rnnForward(n * H, relu, d.gates + o * H, d.h + o * H);
    }
  }
}

/**
 * Cuts the sorted batch's rows [0, sizes[0]) into `parts` ranges of about equal work (a row's work
 * is the number of steps it is active), at multiples of `unit` rows (the GEMM's micro-tile), and
 * returns how many ranges it made; cut[q]..cut[q+1] is range q.
 */
int batchCuts(long steps, const int32_t* sizes, int parts, long unit, long* cut) {
  const long B = sizes[0];
  std::vector<long> active(B, 0);  // steps each row is active: sizes are non-increasing
  for (long s = 0; s < steps; s++) active[sizes[s] - 1]++;
  for (long r = B - 2; r >= 0; r--) active[r] += active[r + 1];
  double total = 0;
  for (long r = 0; r < B; r++) total += active[r];
  int made = 0;
  cut[0] = 0;
  double acc = 0;
  long r = 0;
  for (int q = 1; q < parts; q++) {
    const double goal = total * q / parts;
    while (r < B && acc + active[r] <= goal) acc += active[r++];
    long c = (r + unit / 2) / unit * unit;  // the nearest whole tile
    if (c <= cut[made] || c >= B) continue;
    for (long x = r; x < c; x++) acc += active[x];
    for (long x = c; x < r; x++) acc -= active[x];
    r = c;
    cut[++made] = c;
  }
  cut[++made] = B;
  return made;
}

/** One direction's buffers for recurrentBackward (see Backend.recurrentBackward). */
struct BackDirection {
  const float* whh;
  const float *gates, *gh, *hPrev, *h, *cPrev, *c;
  float *dh, *dc, *dG, *dGh, *dh0, *dc0;
};

/**
 * The backward loop of one direction over the rows [r0, r1) of the sorted batch (as runDirection:
 * disjoint ranges run on different threads with no synchronisation inside the loop).
 */
void runBackward(const KernelTable* kt, long cell, bool hard, bool relu, long steps, const int32_t* offsets, const int32_t* sizes,
                 long H, const BackDirection& d, long r0 = 0, long r1 = LONG_MAX) {
  const long G = cell == 0 ? 4 : cell == 1 ? 3 : 1, GH = G * H;
  for (long s = steps - 1; s >= 0; s--) {
    const long hi = r1 < sizes[s] ? r1 : sizes[s];
    if (hi <= r0) continue;  // earlier steps have more rows
    const long o = offsets[s] + r0, n = hi - r0;
    float* dhPrev = s > 0 ? d.dh + (offsets[s - 1] + r0) * H : d.dh0 + r0 * H;
    if (cell == 0) {
      float* dcPrev = s > 0 ? d.dc + (offsets[s - 1] + r0) * H : d.dc0 + r0 * H;
      kt->lstmBackward(n, H, d.gates + o * GH, d.cPrev + o * H, d.c + o * H, d.dh + o * H, d.dc + o * H, d.dG + o * GH, dcPrev, hard);
      gemmPackedAny(kt, n, H, GH, 1, d.dG + o * GH, GH, d.whh, 1, dhPrev, H);
    } else if (cell == 1) {
      kt->gruBackward(n, H, d.gates + o * GH, d.gh + o * GH, d.hPrev + o * H, d.dh + o * H, d.dG + o * GH, d.dGh + o * GH, dhPrev, hard);
      gemmPackedAny(kt, n, H, GH, 1, d.dGh + o * GH, GH, d.whh, 1, dhPrev, H);
    } else {
      kt->rnnBackward(n * H, relu, d.h + o * H, d.dh + o * H, d.dG + o * H);
      gemmPackedAny(kt, n, H, GH, 1, d.dG + o * GH, GH, d.whh, 1, dhPrev, H);
    }
  }
}

/** The steps' layout check of recurrentForward / recurrentBackward: they tile rows [0, N) in order, each a prefix of the one before. */
long checkSteps(napi_env env, const char* name, long steps, const int32_t* offsets, const int32_t* sizes) {
  for (long s = 0; s < steps; s++) {
    const bool ok = sizes[s] >= 1 && (s == 0 ? offsets[0] == 0 : offsets[s] == offsets[s - 1] + sizes[s - 1] && sizes[s] <= sizes[s - 1]);
    if (!ok) fail(env, std::string("native backend: ") + name + ": expected offsets[s] = offsets[s-1] + batchSizes[s-1] and 1 <= batchSizes[s] <= batchSizes[s-1], got offsets[" +
                           std::to_string(s) + "] = " + std::to_string(offsets[s]) + ", batchSizes[" + std::to_string(s) + "] = " + std::to_string(sizes[s]));
  }
  return offsets[steps - 1] + sizes[steps - 1];
}

/** Runs body(r0, r1) over the batch's rows cut across the pool when it pays (one direction), else body(0, LONG_MAX); returns whether it cut. */
/**
 * Runs part(q) for q < parts on the pool's threads, each part once, claimed from a counter (a
 * thread that joins late finds none left); the caller holds the pool's claim.
 */
template <class Part>
void runParts(int parts, Part part) {
  std::atomic<int> next{0};
  pool->run(parts, [&](int) {
    for (int q = next.fetch_add(1); q < parts; q = next.fetch_add(1)) part(q);
  });
}

template <class Body>
bool overBatch(const KernelTable* kt, long steps, const int32_t* sizes, double work, Body body) {
  const int threads = pool ? pool->size() : 1;
  if (threads >= 2 && sizes[0] >= 2 * kt->mr && work >= 4 * parallelWork) {
    PoolClaim claim;
    if (claim.held) {
      long cut[65];
      const int parts = batchCuts(steps, sizes, threads < 64 ? threads : 64, kt->mr, cut);
      if (parts >= 2) {
        splitLoops++;
        runParts(parts, [&](int q) { body(cut[q], cut[q + 1]); });
        return true;
      }
    }
  }
  body(0, LONG_MAX);
  return false;
}

/**
 * What recurrentForward and recurrentBackward share: (cell 0 lstm | 1 gru | 2 rnn, hard, relu, steps,
 * offsets, batchSizes, H, dirs), checked; `empty` when there is nothing to run (then the steps are
 * not read).
 */
struct LoopArgs {
  long cell = 0, steps = 0, H = 0, N = 0, GH = 0;
  bool hard = false, relu = false, empty = false;
  const int32_t* offsets = nullptr;
  const int32_t* sizes = nullptr;
  Napi::Array dirs;
  uint32_t D = 0;
  /** multiply-adds of the loop's recurrent GEMMs (the size that decides a split) */
  double work = 0;
  /** direction k's arrays, `count` of them */
  Napi::Array direction(napi_env env, const std::string& name, uint32_t k, uint32_t count) const {
    Napi::Value dv = dirs.Get(k);
    if (!dv.IsArray() || dv.As<Napi::Array>().Length() != count)
      fail(env, "native backend: " + name + ": expected each direction as " + std::to_string(count) + " arrays");
    return dv.As<Napi::Array>();
  }
};

LoopArgs loopArgs(const Napi::CallbackInfo& info, const std::string& name) {
  napi_env env = info.Env();
  LoopArgs a;
  a.cell = num(info, 0);
  a.hard = flag(info, 1);
  a.relu = flag(info, 2);
  a.steps = num(info, 3);
  a.H = num(info, 6);
  if (a.cell < 0 || a.cell > 2) fail(env, "native backend: " + name + ": expected cell 0 (lstm), 1 (gru) or 2 (rnn), got " + std::to_string(a.cell));
  if (!info[7].IsArray()) fail(env, "native backend: " + name + ": expected an array of directions");
  a.dirs = info[7].As<Napi::Array>();
  a.D = a.dirs.Length();
  if (a.D < 1 || a.D > 2) fail(env, "native backend: " + name + ": expected 1 or 2 directions, got " + std::to_string(a.D));
  a.empty = a.steps <= 0 || a.H <= 0;
  if (a.empty) return a;
  a.offsets = I(info, 4, 0, a.steps, (name + " offsets").c_str());
  a.sizes = I(info, 5, 0, a.steps, (name + " batchSizes").c_str());
  a.N = checkSteps(env, name.c_str(), a.steps, a.offsets, a.sizes);
  a.GH = (a.cell == 0 ? 4 : a.cell == 1 ? 3 : 1) * a.H;
  for (long s = 0; s < a.steps; s++) a.work += static_cast<double>(a.sizes[s]) * a.GH * a.H;
  return a;
}

// recurrentForward(cell 0 lstm | 1 gru | 2 rnn, hard, relu, steps, offsets, batchSizes, H, dirs): the forward time loop of
// one layer (Backend.recurrentForward); dirs[d] = [whh, bhh | null, gates, gh, act, hPrev, h, cPrev, c]. Two directions
// run at once on two threads of the pool (each GEMM then on its direction's thread).
Napi::Value RecurrentForward(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  const KernelTable* kt = K;
  const LoopArgs L = loopArgs(info, "recurrentForward");
  if (L.empty) return undef(info);
  const long cell = L.cell, steps = L.steps, H = L.H, N = L.N, GH = L.GH;
  const bool hard = L.hard, relu = L.relu;
  const int32_t *offsets = L.offsets, *sizes = L.sizes;
  const uint32_t D = L.D;
  Direction dirs[2];
  for (uint32_t k = 0; k < D; k++) {
    Napi::Array a = L.direction(env, "recurrentForward", k, 9);
    auto f = [&](uint32_t i, long extent, const char* what) {
      return static_cast<float*>(valueAt(env, a.Get(i), napi_float32_array, 0, extent, what));
    };
    Direction& d = dirs[k];
    d.whh = packedValue(info, a.Get(0u), kt, H, GH, "recurrentForward whh");
    d.bhh = cell == 1 && !a.Get(1u).IsNull() ? f(1, GH, "recurrentForward bhh") : nullptr;
    d.gates = f(2, N * GH, "recurrentForward gates");
    d.gh = cell == 1 ? f(3, N * GH, "recurrentForward gh") : nullptr;
    d.act = cell == 1 ? f(4, N * GH, "recurrentForward act") : nullptr;
    d.hPrev = f(5, N * H, "recurrentForward hPrev");
    d.h = f(6, N * H, "recurrentForward h");
    d.cPrev = cell == 0 ? f(7, N * H, "recurrentForward cPrev") : nullptr;
    d.c = cell == 0 ? f(8, N * H, "recurrentForward c") : nullptr;
  }
  const int threads = pool ? pool->size() : 1;
  // one direction on several threads: the batch's rows cut into ranges, each range's whole loop on
  // its own thread (ONNX Runtime splits its LSTM's batch the same way); where the batch is too
  // small for whole micro-tiles per thread, or the loop too short to pay a fork, the GEMMs split
  if (D == 1) {
    overBatch(kt, steps, sizes, L.work, [&](long r0, long r1) { runDirection(kt, cell, hard, relu, steps, offsets, sizes, H, dirs[0], r0, r1); });
    return undef(info);
  }
  if (threads >= 2) {
    PoolClaim claim;
    if (claim.held) {
      runParts(2, [&](int q) { runDirection(kt, cell, hard, relu, steps, offsets, sizes, H, dirs[q]); });
      return undef(info);
    }
  }
  for (uint32_t k = 0; k < D; k++) runDirection(kt, cell, hard, relu, steps, offsets, sizes, H, dirs[k]);
  return undef(info);
}

// recurrentBackward(cell, hard, relu, steps, offsets, batchSizes, H, dirs): the backward time loop (Backend.recurrentBackward);
// dirs[d] = [whh (packed, op = W_hh: k = G*H, n = H), gates (GRU: act), gh, hPrev, h, cPrev, c, dh, dc, dG, dGh, dh0, dc0].
Napi::Value RecurrentBackward(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  const KernelTable* kt = K;
  const LoopArgs L = loopArgs(info, "recurrentBackward");
  if (L.empty) return undef(info);
  const long cell = L.cell, steps = L.steps, H = L.H, N = L.N, GH = L.GH, B = L.sizes[0];
  const bool hard = L.hard, relu = L.relu;
  const int32_t *offsets = L.offsets, *sizes = L.sizes;
  const uint32_t D = L.D;
  const bool lstm = cell == 0, gru = cell == 1, rnn = cell == 2;
  BackDirection dirs[2];
  for (uint32_t k = 0; k < D; k++) {
    Napi::Array a = L.direction(env, "recurrentBackward", k, 13);
    auto f = [&](uint32_t i, long extent, const char* what) {
      return static_cast<float*>(valueAt(env, a.Get(i), napi_float32_array, 0, extent, what));
    };
    BackDirection& d = dirs[k];
    d.whh = packedValue(info, a.Get(0u), kt, GH, H, "recurrentBackward whh");
    d.gates = f(1, rnn ? 0 : N * GH, "recurrentBackward gates");
    d.gh = f(2, gru ? N * GH : 0, "recurrentBackward gh");
    d.hPrev = f(3, gru ? N * H : 0, "recurrentBackward hPrev");
    d.h = f(4, rnn ? N * H : 0, "recurrentBackward h");
    d.cPrev = f(5, lstm ? N * H : 0, "recurrentBackward cPrev");
    d.c = f(6, lstm ? N * H : 0, "recurrentBackward c");
    d.dh = f(7, N * H, "recurrentBackward dh");
    d.dc = f(8, lstm ? N * H : 0, "recurrentBackward dc");
    d.dG = f(9, N * GH, "recurrentBackward dG");
    d.dGh = f(10, gru ? N * GH : 0, "recurrentBackward dGh");
    d.dh0 = f(11, B * H, "recurrentBackward dh0");
    d.dc0 = f(12, lstm ? B * H : 0, "recurrentBackward dc0");
  }
  for (uint32_t k = 0; k < D; k++) {
    if (D == 1) overBatch(kt, steps, sizes, L.work, [&](long r0, long r1) { runBackward(kt, cell, hard, relu, steps, offsets, sizes, H, dirs[k], r0, r1); });
    else runBackward(kt, cell, hard, relu, steps, offsets, sizes, H, dirs[k]);
  }
  return undef(info);
}

// ---- rows and vectors ----

// broadcastRows(rows, cols, v, vOff, dst, dOff, ldd, accumulate)
Napi::Value BroadcastRows(const Napi::CallbackInfo& info) {
  const long rows = num(info, 0), cols = num(info, 1), ldd = num(info, 6);
  if (rows <= 0 || cols <= 0) return undef(info);
  checkLd(info, "broadcastRows dst", ldd, cols);
  K->broadcastRows(rows, cols, F(info, 2, num(info, 3), cols, "broadcastRows v"), F(info, 4, num(info, 5), span(rows, cols, ldd), "broadcastRows dst"), ldd, flag(info, 7));
  return undef(info);
}

// sumRows(rows, cols, a, aOff, lda, out, oOff)
Napi::Value SumRows(const Napi::CallbackInfo& info) {
  const long rows = num(info, 0), cols = num(info, 1), lda = num(info, 4);
  if (rows <= 0 || cols <= 0) return undef(info);
  checkLd(info, "sumRows a", lda, cols);
  K->sumRows(rows, cols, F(info, 2, num(info, 3), span(rows, cols, lda), "sumRows a"), lda, F(info, 5, num(info, 6), cols, "sumRows out"));
  return undef(info);
}

// gatherRows / scatterRows(rows, cols, idx, idxOff, src, sOff, lds, dst, dOff, ldd, accumulate)
Napi::Value RowsCopy(const Napi::CallbackInfo& info, bool gather) {
  const long rows = num(info, 0), cols = num(info, 1), lds = num(info, 6), ldd = num(info, 9);
  if (rows <= 0 || cols <= 0) return undef(info);
  const char* name = gather ? "gatherRows" : "scatterRows";
  checkLd(info, name, lds, cols);
  checkLd(info, name, ldd, cols);
  const int32_t* idx = I(info, 2, num(info, 3), rows, gather ? "gatherRows idx" : "scatterRows idx");
  long maxIdx = 0;
  for (long i = 0; i < rows; i++) {
    if (idx[i] < 0) fail(info.Env(), std::string("native backend: ") + name + ": expected row indices >= 0, got " + std::to_string(idx[i]));
    if (idx[i] > maxIdx) maxIdx = idx[i];
  }
  // the indexed side spans maxIdx + 1 rows, the other side `rows` rows
  const long sRows = gather ? maxIdx + 1 : rows, dRows = gather ? rows : maxIdx + 1;
  const float* src = F(info, 4, num(info, 5), span(sRows, cols, lds), gather ? "gatherRows src" : "scatterRows src");
  float* dst = F(info, 7, num(info, 8), span(dRows, cols, ldd), gather ? "gatherRows dst" : "scatterRows dst");
  if (gather) K->gatherRows(rows, cols, idx, src, lds, dst, ldd, flag(info, 10));
  else K->scatterRows(rows, cols, idx, src, lds, dst, ldd, flag(info, 10));
  return undef(info);
}
Napi::Value GatherRows(const Napi::CallbackInfo& info) { return RowsCopy(info, true); }
Napi::Value ScatterRows(const Napi::CallbackInfo& info) { return RowsCopy(info, false); }

// copy(n, src, sOff, dst, dOff)
Napi::Value Copy(const Napi::CallbackInfo& info) {
  const long n = num(info, 0);
  if (n <= 0) return undef(info);
  const float* s = F(info, 1, num(info, 2), n, "copy src");
  float* d = F(info, 3, num(info, 4), n, "copy dst");
  std::memmove(d, s, 4 * n);
  return undef(info);
}

// axpy(n, alpha, src, sOff, dst, dOff)
Napi::Value Axpy(const Napi::CallbackInfo& info) {
  const long n = num(info, 0);
  if (n <= 0) return undef(info);
  K->axpy(n, static_cast<float>(dbl(info, 1)), F(info, 2, num(info, 3), n, "axpy src"), F(info, 4, num(info, 5), n, "axpy dst"));
  return undef(info);
}

// zero(n, a, aOff)
Napi::Value Zero(const Napi::CallbackInfo& info) {
  const long n = num(info, 0);
  if (n <= 0) return undef(info);
  std::memset(F(info, 1, num(info, 2), n, "zero a"), 0, 4 * n);
  return undef(info);
}

// mathFn(fn, n, x, xOff, out, oOff): exp (0), sigmoid (1), tanh (2) as the cell kernels compute them
Napi::Value MathFn(const Napi::CallbackInfo& info) {
  const long n = num(info, 1);
  if (n <= 0) return undef(info);
  K->mathFn(static_cast<int>(num(info, 0)), n, F(info, 2, num(info, 3), n, "mathFn x"), F(info, 4, num(info, 5), n, "mathFn out"));
  return undef(info);
}

// ---- fused cell kernels: the arguments as in backend.ts, each array followed by its offset ----

// rnnForward(n, H, relu, pre, pOff, h, hOff)
Napi::Value RnnForward(const Napi::CallbackInfo& info) {
  const long c = num(info, 0) * num(info, 1);
  if (c <= 0) return undef(info);
  K->rnnForward(c, flag(info, 2), F(info, 3, num(info, 4), c, "rnnForward pre"), F(info, 5, num(info, 6), c, "rnnForward h"));
  return undef(info);
}

// rnnBackward(n, H, relu, h, hOff, dh, dhOff, dPre, dpOff)
Napi::Value RnnBackward(const Napi::CallbackInfo& info) {
  const long c = num(info, 0) * num(info, 1);
  if (c <= 0) return undef(info);
  K->rnnBackward(c, flag(info, 2), F(info, 3, num(info, 4), c, "rnnBackward h"), F(info, 5, num(info, 6), c, "rnnBackward dh"),
                 F(info, 7, num(info, 8), c, "rnnBackward dPre"));
  return undef(info);
}

// lstmForward(n, H, gates, gOff, cPrev, cpOff, c, cOff, h, hOff, hard)
Napi::Value LstmForward(const Napi::CallbackInfo& info) {
  const long n = num(info, 0), H = num(info, 1);
  if (n <= 0 || H <= 0) return undef(info);
  const long e = n * H;
  K->lstmForward(n, H, F(info, 2, num(info, 3), 4 * e, "lstmForward gates"), F(info, 4, num(info, 5), e, "lstmForward cPrev"),
                 F(info, 6, num(info, 7), e, "lstmForward c"), F(info, 8, num(info, 9), e, "lstmForward h"), flag(info, 10));
  return undef(info);
}

// lstmBackward(n, H, gates, gOff, cPrev, cpOff, c, cOff, dh, dhOff, dc, dcOff, dG, dgOff, dcPrev, dcpOff, hard)
Napi::Value LstmBackward(const Napi::CallbackInfo& info) {
  const long n = num(info, 0), H = num(info, 1);
  if (n <= 0 || H <= 0) return undef(info);
  const long e = n * H;
  K->lstmBackward(n, H, F(info, 2, num(info, 3), 4 * e, "lstmBackward gates"), F(info, 4, num(info, 5), e, "lstmBackward cPrev"),
                  F(info, 6, num(info, 7), e, "lstmBackward c"), F(info, 8, num(info, 9), e, "lstmBackward dh"),
                  F(info, 10, num(info, 11), e, "lstmBackward dc"), F(info, 12, num(info, 13), 4 * e, "lstmBackward dG"),
                  F(info, 14, num(info, 15), e, "lstmBackward dcPrev"), flag(info, 16));
  return undef(info);
}

// gruForward(n, H, gx, gxOff, gh, ghOff, hPrev, hpOff, act, aOff, h, hOff, hard)
Napi::Value GruForward(const Napi::CallbackInfo& info) {
  const long n = num(info, 0), H = num(info, 1);
  if (n <= 0 || H <= 0) return undef(info);
  const long e = n * H;
  K->gruForward(n, H, F(info, 2, num(info, 3), 3 * e, "gruForward gx"), F(info, 4, num(info, 5), 3 * e, "gruForward gh"),
                F(info, 6, num(info, 7), e, "gruForward hPrev"), F(info, 8, num(info, 9), 3 * e, "gruForward act"),
                F(info, 10, num(info, 11), e, "gruForward h"), flag(info, 12));
  return undef(info);
}

// gruBackward(n, H, act, aOff, gh, ghOff, hPrev, hpOff, dh, dhOff, dGx, dgxOff, dGh, dghOff, dhPrev, dhpOff, hard)
Napi::Value GruBackward(const Napi::CallbackInfo& info) {
  const long n = num(info, 0), H = num(info, 1);
  if (n <= 0 || H <= 0) return undef(info);
  const long e = n * H;
  K->gruBackward(n, H, F(info, 2, num(info, 3), 3 * e, "gruBackward act"), F(info, 4, num(info, 5), 3 * e, "gruBackward gh"),
                 F(info, 6, num(info, 7), e, "gruBackward hPrev"), F(info, 8, num(info, 9), e, "gruBackward dh"),
                 F(info, 10, num(info, 11), 3 * e, "gruBackward dGx"), F(info, 12, num(info, 13), 3 * e, "gruBackward dGh"),
                 F(info, 14, num(info, 15), e, "gruBackward dhPrev"), flag(info, 16));
  return undef(info);
}

// gruResetBeforeGates(n, H, gx, gxOff, gh, ghOff, hPrev, hpOff, act, aOff, rh, rhOff, hard)
Napi::Value GruResetBeforeGates(const Napi::CallbackInfo& info) {
  const long n = num(info, 0), H = num(info, 1);
  if (n <= 0 || H <= 0) return undef(info);
  const long e = n * H;
  K->gruResetBeforeGates(n, H, F(info, 2, num(info, 3), 3 * e, "gruResetBeforeGates gx"), F(info, 4, num(info, 5), 3 * e, "gruResetBeforeGates gh"),
                         F(info, 6, num(info, 7), e, "gruResetBeforeGates hPrev"), F(info, 8, num(info, 9), 3 * e, "gruResetBeforeGates act"),
                         F(info, 10, num(info, 11), e, "gruResetBeforeGates rh"), flag(info, 12));
  return undef(info);
}

// gruResetBeforeOutput(n, H, gx, gxOff, gh, ghOff, hPrev, hpOff, act, aOff, h, hOff)
Napi::Value GruResetBeforeOutput(const Napi::CallbackInfo& info) {
  const long n = num(info, 0), H = num(info, 1);
  if (n <= 0 || H <= 0) return undef(info);
  const long e = n * H;
  K->gruResetBeforeOutput(n, H, F(info, 2, num(info, 3), 3 * e, "gruResetBeforeOutput gx"), F(info, 4, num(info, 5), 3 * e, "gruResetBeforeOutput gh"),
                          F(info, 6, num(info, 7), e, "gruResetBeforeOutput hPrev"), F(info, 8, num(info, 9), 3 * e, "gruResetBeforeOutput act"),
                          F(info, 10, num(info, 11), e, "gruResetBeforeOutput h"));
  return undef(info);
}

// gruResetBeforeBackwardOutput(n, H, act, aOff, hPrev, hpOff, dh, dhOff, dG, dgOff, dhPrev, dhpOff, hard)
Napi::Value GruResetBeforeBackwardOutput(const Napi::CallbackInfo& info) {
  const long n = num(info, 0), H = num(info, 1);
  if (n <= 0 || H <= 0) return undef(info);
  const long e = n * H;
  K->gruResetBeforeBackwardOutput(n, H, F(info, 2, num(info, 3), 3 * e, "gruResetBeforeBackwardOutput act"),
                                  F(info, 4, num(info, 5), e, "gruResetBeforeBackwardOutput hPrev"), F(info, 6, num(info, 7), e, "gruResetBeforeBackwardOutput dh"),
                                  F(info, 8, num(info, 9), 3 * e, "gruResetBeforeBackwardOutput dG"),
                                  F(info, 10, num(info, 11), e, "gruResetBeforeBackwardOutput dhPrev"), flag(info, 12));
  return undef(info);
}

// gruResetBeforeBackwardGates(n, H, act, aOff, hPrev, hpOff, drh, drhOff, dG, dgOff, dhPrev, dhpOff, hard)
Napi::Value GruResetBeforeBackwardGates(const Napi::CallbackInfo& info) {
  const long n = num(info, 0), H = num(info, 1);
  if (n <= 0 || H <= 0) return undef(info);
  const long e = n * H;
  K->gruResetBeforeBackwardGates(n, H, F(info, 2, num(info, 3), 3 * e, "gruResetBeforeBackwardGates act"),
                                 F(info, 4, num(info, 5), e, "gruResetBeforeBackwardGates hPrev"), F(info, 6, num(info, 7), e, "gruResetBeforeBackwardGates drh"),
                                 F(info, 8, num(info, 9), 3 * e, "gruResetBeforeBackwardGates dG"),
                                 F(info, 10, num(info, 11), e, "gruResetBeforeBackwardGates dhPrev"), flag(info, 12));
  return undef(info);
}

// ---- losses and elementwise helpers ----

// softmaxCrossEntropy(rows, V, logits, lOff, targets, tOff, ignoreIndex, scale, dLogits, dOff) -> loss
Napi::Value SoftmaxCrossEntropy(const Napi::CallbackInfo& info) {
  const long rows = num(info, 0), V = num(info, 1);
  if (rows <= 0 || V <= 0) return Napi::Number::New(info.Env(), 0);
  const double loss = K->softmaxCrossEntropy(rows, V, F(info, 2, num(info, 3), rows * V, "softmaxCrossEntropy logits"),
                                             I(info, 4, num(info, 5), rows, "softmaxCrossEntropy targets"), static_cast<int32_t>(num(info, 6)),
                                             static_cast<float>(dbl(info, 7)), F(info, 8, num(info, 9), rows * V, "softmaxCrossEntropy dLogits"));
  return Napi::Number::New(info.Env(), loss);
}

// softmax(rows, V, temperature, x, xOff, out, oOff)
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  const long rows = num(info, 0), V = num(info, 1);
  if (rows <= 0 || V <= 0) return undef(info);
  K->softmax(rows, V, static_cast<float>(dbl(info, 2)), F(info, 3, num(info, 4), rows * V, "softmax x"), F(info, 5, num(info, 6), rows * V, "softmax out"));
  return undef(info);
}

// mse / bceWithLogits(n, p, pOff, t, tOff, w | null, wOff, scale, grad, gOff) -> loss
Napi::Value Loss(const Napi::CallbackInfo& info, bool bce) {
  const long n = num(info, 0);
  if (n <= 0) return Napi::Number::New(info.Env(), 0);
  const char* nm = bce ? "bceWithLogits" : "mse";
  const float* p = F(info, 1, num(info, 2), n, nm);
  const float* t = F(info, 3, num(info, 4), n, nm);
  const float* w = info[5].IsNull() ? nullptr : F(info, 5, num(info, 6), n, nm);
  const float s = static_cast<float>(dbl(info, 7));
  float* g = F(info, 8, num(info, 9), n, nm);
  return Napi::Number::New(info.Env(), bce ? K->bceWithLogits(n, p, t, w, s, g) : K->mse(n, p, t, w, s, g));
}
Napi::Value Mse(const Napi::CallbackInfo& info) { return Loss(info, false); }
Napi::Value Bce(const Napi::CallbackInfo& info) { return Loss(info, true); }

// sumSquares(n, a, aOff) -> float64
Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  const long n = num(info, 0);
  if (n <= 0) return Napi::Number::New(info.Env(), 0);
  return Napi::Number::New(info.Env(), K->sumSquares(n, F(info, 1, num(info, 2), n, "sumSquares a")));
}

// scale(n, alpha, a, aOff)
Napi::Value Scale(const Napi::CallbackInfo& info) {
  const long n = num(info, 0);
  if (n <= 0) return undef(info);
  K->scale(n, static_cast<float>(dbl(info, 1)), F(info, 2, num(info, 3), n, "scale a"));
  return undef(info);
}

// mul(n, a, aOff, b, bOff, out, oOff)
Napi::Value Mul(const Napi::CallbackInfo& info) {
  const long n = num(info, 0);
  if (n <= 0) return undef(info);
  K->mul(n, F(info, 1, num(info, 2), n, "mul a"), F(info, 3, num(info, 4), n, "mul b"), F(info, 5, num(info, 6), n, "mul out"));
  return undef(info);
}

// ---- optimizers: arrays at offset 0, each of n elements ----

// sgdStep(n, p, g, buf, lr, momentum, nesterov, weightDecay, first)
Napi::Value SgdStep(const Napi::CallbackInfo& info) {
  const long n = num(info, 0);
  if (n <= 0) return undef(info);
  const float momentum = static_cast<float>(dbl(info, 5));
  float* buf = momentum != 0 ? F(info, 3, 0, n, "sgdStep buf") : nullptr;
  K->sgdStep(n, F(info, 1, 0, n, "sgdStep p"), F(info, 2, 0, n, "sgdStep g"), buf, static_cast<float>(dbl(info, 4)), momentum,
             flag(info, 6), static_cast<float>(dbl(info, 7)), flag(info, 8));
  return undef(info);
}

// adamStep(n, p, g, m, v, lr, beta1, beta2, eps, weightDecay, decoupled, bc1, bc2)
Napi::Value AdamStep(const Napi::CallbackInfo& info) {
  const long n = num(info, 0);
  if (n <= 0) return undef(info);
  K->adamStep(n, F(info, 1, 0, n, "adamStep p"), F(info, 2, 0, n, "adamStep g"), F(info, 3, 0, n, "adamStep m"), F(info, 4, 0, n, "adamStep v"),
              static_cast<float>(dbl(info, 5)), static_cast<float>(dbl(info, 6)), static_cast<float>(dbl(info, 7)),
              static_cast<float>(dbl(info, 8)), static_cast<float>(dbl(info, 9)), flag(info, 10), static_cast<float>(dbl(info, 11)),
              static_cast<float>(dbl(info, 12)));
  return undef(info);
}

// rmspropStep(n, p, g, s, lr, alpha, eps, weightDecay)
Napi::Value RmspropStep(const Napi::CallbackInfo& info) {
  const long n = num(info, 0);
  if (n <= 0) return undef(info);
  K->rmspropStep(n, F(info, 1, 0, n, "rmspropStep p"), F(info, 2, 0, n, "rmspropStep g"), F(info, 3, 0, n, "rmspropStep s"),
                 static_cast<float>(dbl(info, 4)), static_cast<float>(dbl(info, 5)), static_cast<float>(dbl(info, 6)), static_cast<float>(dbl(info, 7)));
  return undef(info);
}

// adagradStep(n, p, g, s, lr, eps, weightDecay)
Napi::Value AdagradStep(const Napi::CallbackInfo& info) {
  const long n = num(info, 0);
  if (n <= 0) return undef(info);
  K->adagradStep(n, F(info, 1, 0, n, "adagradStep p"), F(info, 2, 0, n, "adagradStep g"), F(info, 3, 0, n, "adagradStep s"),
                 static_cast<float>(dbl(info, 4)), static_cast<float>(dbl(info, 5)), static_cast<float>(dbl(info, 6)));
  return undef(info);
}

// ---- configuration ----

/** isas() -> the instruction sets this CPU runs, best first. */
Napi::Value Isas(const Napi::CallbackInfo& info) {
  Napi::Array out = Napi::Array::New(info.Env(), tableCount);
  for (int i = 0; i < tableCount; i++) out.Set(i, Napi::String::New(info.Env(), tables[i]->isa));
  return out;
}

/** setIsa(name) -> the kernels used from now on (one of isas(); tests run each). */
Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  const std::string want = info[0].As<Napi::String>().Utf8Value();
  for (int i = 0; i < tableCount; i++) {
    if (want == tables[i]->isa) {
      K = tables[i];
      return undef(info);
    }
  }
  std::string have;
  for (int i = 0; i < tableCount; i++) have += (i ? ", " : "") + std::string(tables[i]->isa);
  fail(info.Env(), "native backend: unknown or unsupported instruction set \"" + want + "\": expected one of " + have);
}

/** isa() -> the instruction set in use. */
Napi::Value Isa(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), K->isa); }

/** setThreads(n): the pool's size (the calling thread included). */
Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  long n = num(info, 0);
  if (n < 1 || n > 256) fail(info.Env(), "native backend: setThreads: expected 1 to 256 threads, got " + std::to_string(n));
  pool->resize(static_cast<int>(n));
  return undef(info);
}

Napi::Value Threads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), pool->size()); }

/** setParallelWork(w): m*n*k from which a GEMM is split across the pool. */
Napi::Value SetParallelWork(const Napi::CallbackInfo& info) {
  parallelWork = dbl(info, 0);
  return undef(info);
}

/** setAdaptiveSplit(on): learn per size class whether a split pays (default), or always split above parallelWork. */
Napi::Value SetAdaptiveSplit(const Napi::CallbackInfo& info) {
  adaptiveSplit = flag(info, 0);
  for (auto& c : splitChoice) {
    c.cost[0].store(0);
    c.cost[1].store(0);
  }
  return undef(info);
}

Napi::Value SplitGemms(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), splitGemms); }
Napi::Value SplitLoops(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), splitLoops); }

std::once_flag initOnce;

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // once per process, whichever thread loads the addon first (worker threads each run Init, at
  // the same time when they start together: unguarded, two pools were made and one was freed in use)
  std::call_once(initOnce, [] {
#if defined(__unix__) || defined(__APPLE__)
    // Node unloads an addon when the last environment that loaded it goes (a program whose
    // worker threads alone use rnnkit: when they exit), while the pool's threads still run this
    // library's code: a crash at exit. Loading ourselves once more with RTLD_NODELETE keeps the
    // code mapped for the life of the process.
    Dl_info self;
    if (dladdr(reinterpret_cast<void*>(&initOnce), &self) != 0 && self.dli_fname) dlopen(self.dli_fname, RTLD_NOW | RTLD_NODELETE);
#endif
    tableCount = rnnkit::kernelTables(tables, 4);
    K = tables[0];
    pool = new Pool();  // one per process, shared by every backend instance (no oversubscription)
  });
  const struct {
    const char* name;
    Napi::Value (*fn)(const Napi::CallbackInfo&);
  } fns[] = {
      {"gemm", Gemm}, {"gemmBias", GemmBias}, {"packedSize", PackedSize}, {"packB", PackB}, {"gemmPacked", GemmPacked}, {"recurrentForward", RecurrentForward}, {"recurrentBackward", RecurrentBackward}, {"broadcastRows", BroadcastRows}, {"sumRows", SumRows}, {"gatherRows", GatherRows},
      {"scatterRows", ScatterRows}, {"copy", Copy}, {"axpy", Axpy}, {"zero", Zero}, {"mathFn", MathFn},
      {"rnnForward", RnnForward}, {"rnnBackward", RnnBackward}, {"lstmForward", LstmForward}, {"lstmBackward", LstmBackward},
      {"gruForward", GruForward}, {"gruBackward", GruBackward}, {"gruResetBeforeGates", GruResetBeforeGates},
      {"gruResetBeforeOutput", GruResetBeforeOutput}, {"gruResetBeforeBackwardOutput", GruResetBeforeBackwardOutput},
      {"gruResetBeforeBackwardGates", GruResetBeforeBackwardGates}, {"softmaxCrossEntropy", SoftmaxCrossEntropy},
      {"softmax", Softmax}, {"mse", Mse}, {"bceWithLogits", Bce}, {"sumSquares", SumSquares}, {"scale", Scale}, {"mul", Mul},
      {"sgdStep", SgdStep}, {"adamStep", AdamStep}, {"rmspropStep", RmspropStep}, {"adagradStep", AdagradStep},
      {"isas", Isas}, {"isa", Isa}, {"setIsa", SetIsa}, {"setThreads", SetThreads}, {"threads", Threads},
      {"setParallelWork", SetParallelWork}, {"setAdaptiveSplit", SetAdaptiveSplit}, {"splitGemms", SplitGemms}, {"splitLoops", SplitLoops},
      {"setErrorClass", SetErrorClass},
  };
  for (const auto& f : fns) exports.Set(f.name, Napi::Function::New(env, f.fn, f.name));
  return exports;
}
}  // namespace

NODE_API_MODULE(rnnkit_native, Init)
