"""Code written for the lecture or for karpathy's micrograd 0.1.0 runs on ours.

The lecture builds nodes with ``Value(data, (a, b), "+", label="e")``, gives
each its own ``_backward`` closure, sorts the graph by hand and calls
``_backward()`` in reverse order; the original library's own test file and
public names must work on our package too. The original's source
distribution is downloaded from PyPI at test time into a temporary folder
(never kept in this repository); the tests that need it skip, saying why,
when it cannot be downloaded.
"""

import ast
import inspect
import math
import os
import shutil
import subprocess
import sys
import tarfile

import pytest

from micrograd import engine, nn
from micrograd.engine import Value
from tools.book import ROOT

ORIGINAL = "micrograd==0.1.0"

# --- the lecture's style, in our own words ---------------------------------------------


def lecture_add(self, other):
    """An addition written the lecture's way: a node and a closure."""
    out = Value(self.data + other.data, (self, other), "+")

    def _backward():
        self.grad += out.grad
        other.grad += out.grad

    out._backward = _backward
    return out


def lecture_mul(self, other):
    out = Value(self.data * other.data, (self, other), "*")

    def _backward():
        self.grad += other.data * out.grad
        other.grad += self.data * out.grad

    out._backward = _backward
    return out


def lecture_tanh(x):
    t = math.tanh(x.data)
    out = Value(t, (x,), "tanh")

    def _backward():
        x.grad += (1 - t**2) * out.grad

    out._backward = _backward
    return out


def topological_order(root):
    """The lecture's recursive depth-first sort, over the set ``_prev``."""
    topo, visited = [], set()

    def build(v):
        if v not in visited:
            visited.add(v)
            for child in v._prev:
                build(child)
            topo.append(v)

    build(root)
    return topo


def backprop_by_hand(root):
    root.grad = 1.0
    for node in reversed(topological_order(root)):
        node._backward()


def leaves_by_keyword():
    return (Value(2.0, label="a"), Value(-3.0, label="b"), Value(10.0, label="c"),
            Value(data=-2.0, _children=(), _op="", label="f"))


# dL/da = b f, dL/db = a f, dL/dc = f, dL/df = a b + c, for L = (a b + c) f
EXPECTED_GRADS = {"a": 6.0, "b": -4.0, "c": -2.0, "f": 4.0}


def test_the_expression_with_closures_assigned_to_backward_and_a_hand_written_loop():
    a, b, c, f = leaves_by_keyword()
    e = lecture_mul(a, b)
    e.label = "e"
    d = lecture_add(e, c)
    d.label = "d"
    L = lecture_mul(d, f)
    L.label = "L"
    assert (L.data, L._op, L._prev) == (-8.0, "*", {d, f})
    assert [v.label for v in topological_order(L)][-1] == "L"
    backprop_by_hand(L)
    assert {v.label: v.grad for v in (a, b, c, f)} == EXPECTED_GRADS
    assert (d.grad, e.grad) == (-2.0, -2.0)


def test_the_expression_built_positionally_with_our_operators_and_the_hand_loop():
    a, b, c, f = (Value(2.0, (), "", "a"), Value(-3.0, (), "", "b"), Value(10.0, (), "", "c"),
                  Value(-2.0, (), "", "f"))
    e = a * b
    d = e + c
    L = d * f
    assert (e._op, d._op, L._op) == ("*", "+", "*")
    assert (e._prev, d._prev, L._prev) == ({a, b}, {e, c}, {d, f})
    assert all(type(v._prev) is set for v in (a, e, d, L))
    backprop_by_hand(L)  # each node's own _backward pushes along its edges
    assert {v.label: v.grad for v in (a, b, c, f)} == EXPECTED_GRADS


def test_a_node_built_by_the_constructor_keeps_children_op_and_label():
    a, b = Value(1.5), Value(2.5)
    for node in (Value(4.0, (a, b), "+", "s"),
                 Value(4.0, _children=(a, b), _op="+", label="s"),
                 Value(4.0, [a, b], "+", label="s")):
        assert (node.data, node._prev, node._op, node.label, node.grad) == (4.0, {a, b}, "+",
                                                                            "s", 0.0)
    assert Value(1.0)._prev == set() and Value(1.0)._op == ""
    assert Value(2.0, {a}, "neg")._prev == {a}  # children given as a set work too
    assert (a * a)._prev == {a}  # a set: a child used twice is there once


def test_backward_of_the_library_runs_the_closures_the_lecture_assigns():
    x, w, bias = Value(0.5), Value(-1.5), Value(0.25)
    n = lecture_add(lecture_mul(x, w), bias) * 2.0  # lecture nodes under a library node
    o = lecture_tanh(n)
    o.backward()
    t = math.tanh(2.0 * (0.5 * -1.5 + 0.25))
    assert o.data == t
    assert x.grad == pytest.approx((1 - t**2) * 2.0 * -1.5)
    assert w.grad == pytest.approx((1 - t**2) * 2.0 * 0.5)
    assert bias.grad == pytest.approx((1 - t**2) * 2.0)


def test_backward_of_a_leaf_does_nothing():
    a = Value(3.0)
    a.grad = 5.0
    a._backward()
    assert a.grad == 5.0


def test_a_closure_replaces_the_rule_of_one_value_only():
    a, b = Value(2.0), Value(3.0)
    mine, other = a * b, a * b
    mine._backward = lambda: None  # this one passes nothing on
    for node in (mine, other):
        node.grad = 1.0
        node._backward()
    assert (a.grad, b.grad) == (3.0, 2.0)  # from `other` only


def test_more_than_two_children_is_a_clear_error():
    a = Value(1.0)
    with pytest.raises(ValueError, match=r"^Value\(\) keeps at most two children, got 3$"):
        Value(3.0, (a, a, a), "sum3")


# --- karpathy's micrograd 0.1.0, from PyPI ----------------------------------------------


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    """The unpacked source distribution of micrograd 0.1.0 (a temporary folder)."""
    folder = tmp_path_factory.mktemp("original")
    command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
               "--no-build-isolation", "--disable-pip-version-check", ORIGINAL, "-d", str(folder)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    except subprocess.TimeoutExpired:
        pytest.skip(f"downloading {ORIGINAL}'s source from PyPI took over 3 minutes")
    archives = list(folder.glob("micrograd-0.1.0.tar.gz"))
    if done.returncode or not archives:
        pytest.skip(f"could not download {ORIGINAL}'s source from PyPI: "
                    f"{done.stderr.strip()[-300:]}")
    with tarfile.open(archives[0]) as tar:
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}  # 3.10.12+
        tar.extractall(folder, **safe)
    return folder / "micrograd-0.1.0"


def test_the_original_test_file_passes_unchanged_on_our_package(original, tmp_path):
    pytest.importorskip("torch", reason="the original test file compares with PyTorch; "
                        "`make test` installs it")
    shutil.copy(original / "test" / "test_engine.py", tmp_path)  # away from its micrograd/
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    where = subprocess.run([sys.executable, "-c", "import micrograd; print(micrograd.__file__)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert where.stdout.strip() == str(ROOT / "micrograd" / "__init__.py")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "test_engine.py"], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "2 passed" in run.stdout


def public_api(path):
    """{class: {"methods": {name: parameters}, "attrs": set, "required": __init__'s
    parameters without a default}} of a module's public classes, by ast."""
    api = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            methods, attrs, required = {}, set(), []
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    methods[item.name] = [a.arg for a in item.args.args]
                    if item.name == "__init__":  # the parameters without a default
                        required = methods[item.name][1:len(item.args.args)
                                                      - len(item.args.defaults)]
                    for sub in ast.walk(item):
                        if (isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Store)
                                and isinstance(sub.value, ast.Name) and sub.value.id == "self"
                                and item.name == "__init__"):
                            attrs.add(sub.attr)
            api[node.name] = {"methods": methods, "attrs": attrs, "required": required}
    return api


SAMPLE_ARGS = {"data": 1.5, "nin": 2, "nout": 3, "nouts": [3, 1]}


@pytest.mark.parametrize("module", [engine, nn], ids=["engine", "nn"])
def test_every_public_name_of_the_original_exists_in_ours(original, module):
    name = module.__name__.split(".")[-1]
    api = public_api(original / "micrograd" / f"{name}.py")
    assert api, f"no public class found in the original {name}.py"
    for cls_name, spec in api.items():
        ours = getattr(module, cls_name, None)
        assert inspect.isclass(ours), f"micrograd.{name}.{cls_name} is missing"
        for method, params in spec["methods"].items():
            assert callable(getattr(ours, method, None)), f"{cls_name}.{method} is missing"
            our_params = list(inspect.signature(getattr(ours, method)).parameters)
            if method.startswith("__") and method != "__init__":
                assert len(our_params) >= len(params), f"{cls_name}.{method}{tuple(params)}"
            else:  # the same parameters, in the same places, so calls by name work too
                assert our_params[:len(params)] == params, (
                    f"{cls_name}.{method}: the original takes {params}, ours {our_params}")
        init = spec["required"]
        missing = [p for p in init if p not in SAMPLE_ARGS]
        assert not missing, f"no sample argument for {cls_name}({', '.join(missing)})"
        instance = ours(*[SAMPLE_ARGS[p] for p in init])
        for attr in spec["attrs"]:
            assert hasattr(instance, attr), f"{cls_name}(...).{attr} is missing"
