"""PyTorch side of `npm run bench:peers` (bench/peers/run.mjs starts it; it can also run alone).

    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp /usr/bin/python3 \
        bench/peers/torch_bench.py --spec '{"configs": [...], "cells": [...], ...}'

Measures nn.LSTM / nn.GRU / nn.RNN (tanh) on the CPU for the benchmark configurations, inference
(torch.inference_mode) and one training step (forward + BPTT + Adam), with each thread count of
the spec (torch.set_num_threads), plus torch.mm on the SGEMM shapes. One JSON object per line on
stdout, in the format of run.mjs. It never installs anything: Debian's python3-torch provides
torch (`apt-get install -y python3-torch libopenblas0-openmp`); without the OpenBLAS-openmp
directory on LD_LIBRARY_PATH, Debian's torch runs on the reference BLAS (about 15x slower).

Spec keys: configs (list of {name, batch, seqLen, input, hidden, layers, vocab?}), cells, modes,
threads (list of ints), budget (seconds per case), cap (seconds: skip a case whose single batch is
predicted, from an earlier configuration of the same cell/mode/threads, to take longer; 0 = never),
matmul (list of [m, k, n]).
"""
import argparse
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def rnd(v):
    return round(v * 1000) / 1000


def forward_flops(c, cell):
    g = {"lstm": 4, "gru": 3, "rnn": 1}[cell]
    f = 0
    for layer in range(c["layers"]):
        x = c["input"] if layer == 0 else c["hidden"]
        f += 2 * g * c["hidden"] * (x + c["hidden"]) * c["batch"] * c["seqLen"]
    return f


def median(v):
    s = sorted(v)
    m = len(s) // 2
    return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2


def time_it(fn, budget):
    """The rule of bench/cases.ts time(): up to 5 runs within `budget` s after warming up for 1 s
    (at least one run); a case whose first run takes more than half the budget is timed by one
    more run, or by the first alone when that took over 5 s."""
    t0 = time.perf_counter()
    fn()
    first = (time.perf_counter() - t0) * 1000
    if first * 2 > budget * 1000:
        if first > 5000:
            return first, 1
        t0 = time.perf_counter()
        fn()
        return (time.perf_counter() - t0) * 1000, 1
    while time.perf_counter() - t0 < 1.0:
        fn()
    deadline = time.perf_counter() + budget
    times = []
    while len(times) < 5 and (not times or time.perf_counter() < deadline):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return median(times), len(times)


def make_case(c, cell, mode):
    torch.manual_seed(1)
    B, T, X, H, L = c["batch"], c["seqLen"], c["input"], c["hidden"], c["layers"]
    cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
    rnn = cls(X, H, num_layers=L)
    V = c.get("vocab")
    if not V:
        x = torch.rand(T, B, X) * 2 - 1
        y = torch.rand(B, H) - 0.5
        if mode == "infer":
            def fn():
                with torch.inference_mode():
                    rnn(x)
            return fn
        opt = torch.optim.Adam(rnn.parameters(), lr=1e-3)

        def fn():
            opt.zero_grad(set_to_none=True)
            _, h = rnn(x)
            h_n = h[0] if cell == "lstm" else h
            loss = ((h_n[-1] - y) ** 2).mean()
            loss.backward()
            opt.step()
        return fn

    emb = nn.Embedding(V, X)
    head = nn.Linear(H, V)
    tokens = torch.randint(V, (T + 1, B))
    inp, target = tokens[:-1], tokens[1:].reshape(-1)
    if mode == "infer":
        def fn():
            with torch.inference_mode():
                out, _ = rnn(emb(inp))
                head(out)
        return fn
    opt = torch.optim.Adam([*emb.parameters(), *rnn.parameters(), *head.parameters()], lr=1e-3)

    def fn():
        opt.zero_grad(set_to_none=True)
        out, _ = rnn(emb(inp))
        loss = F.cross_entropy(head(out).reshape(-1, V), target)
        loss.backward()
        opt.step()
    return fn


def blas_library():
    try:
        with open("/proc/self/maps") as f:
            libs = sorted({line.split()[-1] for line in f if "blas" in line.lower() and "/" in line})
        return libs[0] if libs else "unknown"
    except OSError:
        return "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", required=True, help="JSON, see the module docstring")
    spec = json.loads(ap.parse_args().spec)
    torch.set_num_interop_threads(1)
    # BLAS is loaded lazily: touch it once before reporting which library it is
    torch.mm(torch.ones(64, 64), torch.ones(64, 64))
    emit({"peer": "torch", "info": "env", "version": torch.__version__, "blas": blas_library(),
          "python": sys.version.split()[0]})
    cap = float(spec.get("cap", 0))
    for threads in spec["threads"]:
        torch.set_num_threads(int(threads))
        rates = {}
        for c in spec["configs"]:
            for cell in spec["cells"]:
                for mode in spec["modes"]:
                    base = {"peer": "torch", "backend": "cpu", "threads": threads, "config": c["name"],
                            "cell": cell, "mode": mode}
                    flops = forward_flops(c, cell) * (3 if mode == "train" else 1)
                    rate = rates.get((cell, mode))
                    if cap > 0 and rate:
                        predicted = flops / rate[0] / 1e9
                        if predicted > cap:
                            emit({**base, "skipped": f"predicted {predicted:.0f} s for one batch (from {rate[1]} at "
                                                     f"{rate[0]:.3g} GFLOP/s) > --cap {cap:g} s"})
                            continue
                    try:
                        ms, reps = time_it(make_case(c, cell, mode), spec["budget"])
                    except Exception as e:  # noqa: BLE001 - report and go on
                        emit({**base, "error": f"{type(e).__name__}: {e}"})
                        continue
                    gflops = flops / ms / 1e6
                    rates.setdefault((cell, mode), (gflops, c["name"]))
                    emit({**base, "seqPerSec": rnd(c["batch"] * 1000 / ms), "gflops": rnd(gflops),
                          "ms": rnd(ms), "reps": reps})
        for m, k, n in spec.get("matmul", []):
            a, b = torch.rand(m, k), torch.rand(k, n)
            t0 = time.perf_counter()
            torch.mm(a, b)
            one = max(time.perf_counter() - t0, 1e-6)
            inner = max(1, int(0.05 / one))

            def fn():
                for _ in range(inner):
                    torch.mm(a, b)
            ms, reps = time_it(fn, min(spec["budget"], 2))
            emit({"peer": "torch", "backend": "cpu", "threads": threads, "op": "matmul", "shape": f"{m}x{k}x{n}",
                  "gflops": rnd(2 * m * k * n * inner / ms / 1e6), "ms": rnd(ms / inner), "reps": reps})


if __name__ == "__main__":
    main()
