"""Speed from Python, one run: softlab.softmax (impl="fast") against scipy.special.softmax and
torch.softmax (1 thread and os.cpu_count() threads), float32, at n = 16, 4096, 2^20 and on a
32 x 4096 batch, with and without out=; and the call overhead at n = 16 in nanoseconds.

Each time is the median over --repeat timeit repetitions (each of enough calls to take
about --target seconds). Prints a markdown table, then the same as JSON (with the machine's
ISA as softlab and torch report it).

    PYTHONPATH=build/release/python /usr/bin/python3 python/benchmarks/speed.py
"""

import argparse
import json
import os
import platform
import statistics
import timeit

import numpy as np
import scipy.special
import torch

import softlab

SHAPES = [(16,), (4096,), (1 << 20,), (32, 4096)]


def torch_cpu_capability():
    """The instruction set ATen dispatches its CPU kernels to ("AVX2"), from its build report."""
    for line in torch.__config__.show().splitlines():
        if "CPU capability usage" in line:
            return line.split(":", 1)[1].strip()
    return "unknown"


def seconds_per_call(f, repeat, target):
    timer = timeit.Timer(f)
    calls, elapsed = 1, 0.0
    while elapsed < target / 4:  # enough calls per repetition to be well above the timer
        calls *= 4
        elapsed = timer.timeit(calls)
    per_repetition = max(1, int(calls * target / max(elapsed, 1e-9)))
    times = timer.repeat(repeat=repeat, number=per_repetition)
    return statistics.median(times) / per_repetition


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--target", type=float, default=0.1, help="seconds per repetition")
    args = parser.parse_args()
    rng = np.random.default_rng(softlab.default_seed)
    threads_all = os.cpu_count() or 1
    results = []
    for shape in SHAPES:
        x = (rng.standard_normal(shape) * 3).astype(np.float32)
        out = np.empty_like(x)
        tx, tout = torch.from_numpy(x), torch.from_numpy(out)
        candidates = {
            "softlab fast": lambda: softlab.softmax(x),
            "softlab fast, out=": lambda: softlab.softmax(x, out=out),
            "softlab fast, 1 thread, out=": lambda: softlab.softmax(x, out=out, threads=1),
            "scipy.special.softmax": lambda: scipy.special.softmax(x, axis=-1),
        }
        # torch's thread count is set once before its runs are timed, not inside the timed
        # call: set_num_threads in every call costs milliseconds (its pool is rebuilt).
        torch_threads = {}
        for threads in sorted({1, threads_all}):
            name = f"torch.softmax, {threads} thread(s)"
            candidates[name] = lambda: torch.softmax(tx, dim=-1)
            candidates[name + ", out="] = lambda: torch.softmax(tx, dim=-1, out=tout)
            torch_threads[name] = torch_threads[name + ", out="] = threads
        for name, f in candidates.items():
            if name in torch_threads:
                torch.set_num_threads(torch_threads[name])
            try:
                t = seconds_per_call(f, args.repeat, args.target)
            except Exception as e:  # an unsupported variant (e.g. out= on an old torch)
                results.append({"shape": list(shape), "name": name, "error": str(e)})
                continue
            results.append({"shape": list(shape), "name": name, "seconds": t,
                            "elements_per_second": x.size / t})
    torch.set_num_threads(threads_all)
    context = {
        "machine": platform.processor() or platform.machine(),
        "cpu_count": threads_all,
        "softlab_isa": softlab.active_isa(),
        "torch": torch.__version__,
        "torch_cpu_capability": torch_cpu_capability(),
        "numpy": np.__version__, "scipy": scipy.__version__,
        "repeat": args.repeat,
    }
    print("| shape | implementation | time per call | vs scipy |")
    print("|---|---|---:|---:|")
    for shape in SHAPES:
        rows = [r for r in results if tuple(r["shape"]) == shape and "seconds" in r]
        scipy_time = next(r["seconds"] for r in rows if r["name"] == "scipy.special.softmax")
        for r in rows:
            t = r["seconds"]
            text = f"{t * 1e9:.0f} ns" if t < 1e-5 else f"{t * 1e6:.1f} us"
            print(f"| {'x'.join(map(str, shape))} | {r['name']} | {text} | "
                  f"{scipy_time / t:.2f}x |")
    overhead = next(r["seconds"] for r in results
                    if r["shape"] == [16] and r["name"] == "softlab fast, out=")
    print(f"\ncall overhead at n = 16 (softlab.softmax(x, out=y)): {overhead * 1e9:.0f} ns")
    print(json.dumps({"context": context, "results": results}, indent=1))


if __name__ == "__main__":
    main()
