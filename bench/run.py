"""Benchmark the book's micrograd against karpathy's micrograd 0.1.0.

    make bench          (or: .venv/bin/python -m bench.run)

1. Installs micrograd==0.1.0 from PyPI into a temporary folder (deleted at
   the end; nothing is committed or vendored) with ``pip install --target``.
2. Runs the demo workload (bench/workload.py: MLP 2-16-16-1, 100 two-moons
   points, hinge loss + 1e-4 L2, full batch) in fresh processes, alternating
   the original, the book's default scalar graph and the book's fused path,
   and prints the median milliseconds per training step and the speed-ups.
3. Checks that the same seed gives the same loss at every step (to 1e-9).
4. Measures bytes per graph node (tracemalloc) and the time of backward()
   on a chain of 1,000,000 values (the original, recursive, fails at 2,000).

Exits 1 if a target is missed: default >= 9x, fused >= 75x, <= 200 bytes
per node, the chain backpropagates, losses agree to 1e-9.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKLOAD = ROOT / "bench" / "workload.py"
ORIGINAL = "micrograd==0.1.0"
TARGETS = {"default": 9.0, "fused": 75.0, "bytes": 200, "tolerance": 1e-9}


def install_original(folder: Path) -> Path:
    """pip-install the original into ``folder`` (isolated from .venv)."""
    target = folder / "original"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-qq", "--disable-pip-version-check",
         "--no-deps", "--no-compile", "--target", str(target), ORIGINAL],
        check=True,
    )
    return target


def run(package: Path, *args: str) -> dict:
    """One fresh process of bench/workload.py; its JSON result."""
    command = [sys.executable, str(WORKLOAD), "--package", str(package), *args]
    out = subprocess.run(command, capture_output=True, text=True, check=False)
    if out.returncode:
        sys.exit(f"bench: {' '.join(command)} failed:\n{out.stderr}")
    return json.loads(out.stdout)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds")
    parser.add_argument("--steps", type=int, default=6, help="training steps per run")
    parser.add_argument("--warmup", type=int, default=2, help="untimed first steps per run")
    parser.add_argument("--chain", type=int, default=1_000_000)
    parser.add_argument("--book", type=Path, default=ROOT,
                        help="the folder that holds the book's micrograd/")
    args = parser.parse_args(argv)

    book = args.book.resolve()
    with tempfile.TemporaryDirectory(prefix="micrograd-original-") as tmp:
        original = install_original(Path(tmp))
        engines = {
            "original": (original, ()),
            "default": (book, ()),
            "fused": (book, ("--fused",)),
        }
        times = {name: [] for name in engines}
        losses = {name: [] for name in engines}  # one list per run
        for r in range(args.rounds):
            for name, (package, extra) in engines.items():
                result = run(package, "--steps", str(args.steps), *extra)
                times[name] += result["times"][args.warmup:]
                losses[name].append(result["losses"])
                if r == 0:
                    print(f"{name:>8}: micrograd from {result['file']}")
        memory = {name: run(package, "--memory", *extra)
                  for name, (package, extra) in engines.items()}
        chain_original = run(original, "--chain", "2000")
        chain_book = run(book, "--chain", str(args.chain))

    print(f"\nPython {sys.version.split()[0]} on {platform.machine()}, {os.cpu_count()} CPUs")
    print(f"demo training step: MLP 2-16-16-1, 100 two-moons points, hinge loss + 1e-4 L2, "
          f"full batch;\n{args.rounds} alternating rounds of {args.steps} steps per engine, "
          f"the first {args.warmup} of each run untimed")
    median = {name: statistics.median(t) * 1000 for name, t in times.items()}
    print(f"\n{'engine':>10} {'median ms':>10} {'min ms':>8} {'max ms':>8} {'speed-up':>9}")
    for name, t in times.items():
        print(f"{name:>10} {median[name]:10.1f} {min(t) * 1000:8.1f} {max(t) * 1000:8.1f} "
              f"{median['original'] / median[name]:8.1f}x")

    reference = losses["original"][0]
    print(f"\nsame seed, same loss, step by step ({len(reference)} steps, every run):")
    diffs = {name: max(abs(a - b) for run_losses in losses[name]
                       for a, b in zip(run_losses, reference, strict=True))
             for name in engines}
    for name, diff in diffs.items():
        print(f"{name:>10}: largest difference from the original's first run {diff:.1e}")
    print("    losses:", ", ".join(f"{x:.12f}" for x in reference))

    print("\nmemory while building one step's graph (tracemalloc):")
    per_node = {name: m["bytes"] / m["nodes"] for name, m in memory.items()}
    for name, m in memory.items():
        print(f"{name:>10}: {m['nodes']:6d} nodes, {m['bytes'] / 1e6:5.2f} MB, "
              f"{per_node[name]:4.0f} bytes per node")

    print("\nbackward() on a chain of values:")
    outcome = chain_original.get("error", "no error").split(":")[0]
    print(f"{'original':>10}: 2,000 values: {outcome}")
    if "error" in chain_book:
        print(f"{'book':>10}: {args.chain:,} values: {chain_book['error'].split(':')[0]}")
    else:
        print(f"{'book':>10}: {args.chain:,} values: {chain_book['seconds'] * 1000:.0f} ms, "
              f"leaf grad {chain_book['grad']}")

    checks = [
        (f"default >= {TARGETS['default']:.0f}x faster",
         median["original"] / median["default"] >= TARGETS["default"]),
        (f"fused >= {TARGETS['fused']:.0f}x faster",
         median["original"] / median["fused"] >= TARGETS["fused"]),
        (f"same loss to {TARGETS['tolerance']:.0e}",
         max(diffs.values()) <= TARGETS["tolerance"]),
        (f"default <= {TARGETS['bytes']} bytes per node", per_node["default"] <= TARGETS["bytes"]),
        (f"{args.chain:,}-value chain backpropagates", "error" not in chain_book),
    ]
    print()
    for label, passed in checks:
        print(f"target {label}: {'met' if passed else 'MISSED'}")
    return 0 if all(passed for _, passed in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
