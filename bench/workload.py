"""The benchmark workload: micrograd's classic demo, one process per run.

    python bench/workload.py --package DIR --steps N [--fused]

imports ``micrograd`` from DIR only (the book's package, or karpathy's
micrograd 0.1.0 installed into a temporary folder by bench/run.py), trains a
2-16-16-1 MLP on 100 two-moons points for N full-batch steps (hinge loss
plus 1e-4 L2, decaying learning rate, exactly as in the original demo
notebook) and prints one JSON line: the time of each step, its loss, and the
micrograd file that was imported.

``--memory`` instead builds one step's graph under tracemalloc and prints
the bytes allocated per graph node; ``--chain N`` times ``backward()`` on a
chain of N values.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time


def make_moons(n=100, noise=0.1, seed=1337):
    """Two interleaving half circles, labels -1 and +1 (sklearn's recipe,
    in plain Python so the benchmark needs no numpy or scikit-learn)."""
    rng = random.Random(seed)
    n_out = n // 2
    n_in = n - n_out
    points = []
    for i in range(n_out):
        t = math.pi * i / (n_out - 1)
        points.append(((math.cos(t), math.sin(t)), -1))
    for i in range(n_in):
        t = math.pi * i / (n_in - 1)
        points.append(((1 - math.cos(t), 0.5 - math.sin(t)), 1))
    rng.shuffle(points)
    X = [[a + rng.gauss(0, noise), b + rng.gauss(0, noise)] for (a, b), _ in points]
    y = [label for _, label in points]
    return X, y


def import_micrograd(package: str):
    """Import micrograd from ``package`` and from nowhere else."""
    sys.path.insert(0, package)
    import micrograd
    from micrograd.engine import Value
    from micrograd.nn import MLP

    where = micrograd.__file__
    if not where.startswith(package):
        raise SystemExit(f"micrograd was imported from {where}, not from {package}")
    return Value, MLP, where


def build(Value, MLP, fused: bool):
    """The demo's model and its loss function (the original notebook's code)."""
    X, y = make_moons()
    random.seed(1337)
    model = MLP(2, [16, 16, 1], fused=True) if fused else MLP(2, [16, 16, 1])

    def loss():
        inputs = [list(map(Value, xrow)) for xrow in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores, strict=True)]
        data_loss = sum(losses) * (1.0 / len(losses))
        alpha = 1e-4
        reg_loss = alpha * sum(p * p for p in model.parameters())
        return data_loss + reg_loss

    return model, loss


def train(args) -> dict:
    Value, MLP, where = import_micrograd(args.package)
    model, loss = build(Value, MLP, args.fused)
    times, losses = [], []
    for k in range(args.steps):
        start = time.perf_counter()
        total_loss = loss()
        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        times.append(time.perf_counter() - start)
        losses.append(total_loss.data)
    return {"file": where, "times": times, "losses": losses}


def graph_nodes(root) -> list:
    """Every value of the graph that ends in ``root`` (iteratively)."""
    seen, stack, nodes = set(), [root], []
    while stack:
        v = stack.pop()
        if id(v) not in seen:
            seen.add(id(v))
            nodes.append(v)
            stack.extend(v._prev)
    return nodes


def memory(args) -> dict:
    """Bytes allocated while building one step's graph, per node."""
    import tracemalloc

    Value, MLP, where = import_micrograd(args.package)
    model, loss = build(Value, MLP, args.fused)
    params = {id(p) for p in model.parameters()}
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    total_loss = loss()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    nodes = [v for v in graph_nodes(total_loss) if id(v) not in params]
    return {"file": where, "nodes": len(nodes), "bytes": after - before}


def chain(args) -> dict:
    """Time backward() on a chain of ``args.chain`` values."""
    Value, _, where = import_micrograd(args.package)
    x = Value(0.5)
    y = x
    for _ in range(args.chain - 1):
        y = y.relu()
    start = time.perf_counter()
    try:
        y.backward()
    except RecursionError as exc:
        return {"file": where, "error": f"RecursionError: {exc}"}
    return {"file": where, "seconds": time.perf_counter() - start, "grad": x.grad}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--package", required=True, help="folder that holds micrograd/")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--fused", action="store_true", help="MLP(..., fused=True)")
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--chain", type=int, default=0)
    args = parser.parse_args(argv)
    if args.memory:
        result = memory(args)
    elif args.chain:
        result = chain(args)
    else:
        result = train(args)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
