"""Gradients of the generated package (docs/fast.md writes the final engine).

* Every operation's backward rule is checked against a central finite
  difference of its own forward computation, on inputs drawn by hypothesis
  (kept away from kinks and singularities, where a finite difference lies).
* Composite expressions and a whole training loss are compared with PyTorch
  in double precision (skipped, with the reason, when torch is missing).
* backward() called twice adds to the leaves' gradients, as in PyTorch, and
  zero_grad() starts them again from zero.
"""

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micrograd.engine import Value
from micrograd.nn import MLP, Neuron

H = 1e-6  # finite-difference step


def finite_difference(f, xs, i):
    """d f / d xs[i] by a central difference, computed on plain floats."""
    up = list(xs)
    down = list(xs)
    up[i] += H
    down[i] -= H
    return (f(*map(Value, up)).data - f(*map(Value, down)).data) / (2 * H)


def check_gradients(f, *xs):
    """backward() of f(*xs) agrees with finite differences for every input."""
    leaves = [Value(x) for x in xs]
    f(*leaves).backward()
    for i, leaf in enumerate(leaves):
        expected = finite_difference(f, xs, i)
        assert leaf.grad == pytest.approx(expected, rel=1e-5, abs=1e-6), (f, xs, i)


def floats(lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def away_from(x, point, gap):
    return abs(x - point) > gap


anywhere = floats(-10, 10)
positive = floats(0.1, 10)
nonzero = anywhere.filter(lambda x: away_from(x, 0, 0.1))


# --- one operation at a time -----------------------------------------------------


@given(anywhere, anywhere)
def test_add_matches_finite_difference(a, b):
    check_gradients(lambda x, y: x + y, a, b)


@given(anywhere, anywhere)
def test_sub_matches_finite_difference(a, b):
    check_gradients(lambda x, y: x - y, a, b)


@given(anywhere, anywhere)
def test_mul_matches_finite_difference(a, b):
    check_gradients(lambda x, y: x * y, a, b)


@given(anywhere, nonzero)
def test_truediv_matches_finite_difference(a, b):
    check_gradients(lambda x, y: x / y, a, b)


@given(anywhere)
def test_neg_matches_finite_difference(a):
    check_gradients(lambda x: -x, a)


@given(anywhere, st.integers(-3, 4))
def test_pow_with_an_int_exponent_matches_finite_difference(a, k):
    if k < 0:
        a = a if away_from(a, 0, 0.1) else 0.5
    check_gradients(lambda x: x**k, a)


@given(positive, floats(-2.5, 2.5))
def test_pow_with_a_float_exponent_matches_finite_difference(a, k):
    check_gradients(lambda x: x**k, a)


@given(floats(-5, 5))
def test_exp_matches_finite_difference(a):
    check_gradients(lambda x: x.exp(), a)


@given(positive)
def test_log_matches_finite_difference(a):
    check_gradients(lambda x: x.log(), a)


@given(floats(-5, 5))
def test_tanh_matches_finite_difference(a):
    check_gradients(lambda x: x.tanh(), a)


@given(anywhere.filter(lambda x: away_from(x, 0, 1e-3)))
def test_relu_matches_finite_difference(a):
    check_gradients(lambda x: x.relu(), a)


@given(anywhere, anywhere)
def test_reflected_operators_match_finite_difference(a, c):
    check_gradients(lambda x: c + x, a)
    check_gradients(lambda x: c - x, a)
    check_gradients(lambda x: c * x, a)
    if away_from(a, 0, 0.1):
        check_gradients(lambda x: c / x, a)


@given(st.lists(anywhere, min_size=7, max_size=7), st.booleans())
def test_fused_neuron_matches_finite_difference(xs, nonlin):
    # a fused neuron with 3 inputs: 3 weights, 3 inputs and the bias as leaves
    def neuron(w0, w1, w2, x0, x1, x2, b):
        n = Neuron(3, nonlin=nonlin, fused=True)
        n.w, n.b = [w0, w1, w2], b
        return n([x0, x1, x2])

    act = xs[6] + sum(w * x for w, x in zip(xs[:3], xs[3:6], strict=True))
    if not nonlin or away_from(act, 0, 1e-3):  # away from the ReLU's kink
        check_gradients(neuron, *xs)


@settings(max_examples=50)
@given(st.lists(anywhere, min_size=2, max_size=2), st.integers(0, 2**32 - 1))
def test_fused_network_has_the_gradients_of_the_scalar_one(x, seed):
    grads = []
    for fused in (False, True):
        random.seed(seed)
        model = MLP(2, [4, 4, 1], fused=fused)
        out = model([Value(x[0]), Value(x[1])])
        out.backward()
        grads.append([p.grad for p in model.parameters()])
    assert grads[0] == pytest.approx(grads[1], rel=1e-12, abs=1e-12)


# --- compared with PyTorch -------------------------------------------------------


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip(
        "torch", reason="torch is not installed: the comparisons with PyTorch are skipped"
    )


def sanity(a, b, c):
    """The original micrograd's sanity check, as a function of a."""
    z = 2 * a + 2 + a
    q = z.relu() + z * a
    h = (z * z).relu()
    return h + q + q * a


def reused(a, b, c):
    """An inner node used three times."""
    d = a * b + b
    return d * d + d.tanh() * a


EXPRESSIONS = {
    "sanity": sanity,
    "reused": reused,
    "neuron": lambda a, b, c: (a * b + c).tanh(),
    "every op": lambda a, b, c: (
        ((a * b - c / 2) ** 2 + (-a).exp() + (b * b + 1).log()) / (1 + c * c)
    ),
    "reflected": lambda a, b, c: 3 - a + 2 / (b * b + 1) + 5 * c - 1 + (a - 4).relu(),
}


def as_tensors(torch, xs):
    return [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]


def grad_of(t):
    """A tensor's gradient as a float (PyTorch leaves it None when unused)."""
    return 0.0 if t.grad is None else t.grad.item()


@pytest.mark.parametrize("name", EXPRESSIONS)
@settings(max_examples=30, deadline=None)
@given(xs=st.lists(floats(-3, 3), min_size=3, max_size=3))
def test_composite_expression_matches_pytorch(torch, name, xs):
    f = EXPRESSIONS[name]
    ours = [Value(x) for x in xs]
    out = f(*ours)
    out.backward()
    theirs = as_tensors(torch, xs)
    ref = f(*theirs)
    ref.backward()
    assert out.data == pytest.approx(ref.item(), rel=1e-12, abs=1e-12)
    for v, t in zip(ours, theirs, strict=True):
        assert v.grad == pytest.approx(grad_of(t), rel=1e-9, abs=1e-12)


def demo_loss(model, X, y, lib_relu, params):
    """The original demo's loss, for either engine (params: the leaves)."""
    scores = [model(x) for x in X]
    losses = [lib_relu(1 + -yi * si) for yi, si in zip(y, scores, strict=True)]
    return sum(losses) * (1.0 / len(losses)) + 1e-4 * sum(p * p for p in params)


@pytest.mark.parametrize("fused", [False, True], ids=["scalar", "fused"])
def test_demo_loss_and_gradients_match_pytorch(torch, fused):
    random.seed(0)
    X = [[random.uniform(-1.5, 2.5), random.uniform(-1, 1.5)] for _ in range(12)]
    y = [1 if a * a + b > 0.5 else -1 for a, b in X]
    random.seed(1337)
    model = MLP(2, [8, 8, 1], fused=fused)
    loss = demo_loss(model, [list(map(Value, row)) for row in X], y,
                     lambda v: v.relu(), model.parameters())
    model.zero_grad()
    loss.backward()

    # the same network in PyTorch, one tensor per layer
    layers = []
    for layer in model.layers:
        W = torch.tensor([[w.data for w in n.w] for n in layer.neurons],
                         dtype=torch.float64, requires_grad=True)
        b = torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64,
                         requires_grad=True)
        layers.append((W, b, layer.neurons[0].nonlin))

    def forward(x):
        h = torch.tensor(x, dtype=torch.float64)
        for W, b, nonlin in layers:
            h = W @ h + b
            h = h.relu() if nonlin else h
        return h[0]

    params = [t for W, b, _ in layers for t in (W.reshape(-1), b)]
    ref = demo_loss(forward, X, y, torch.relu, torch.cat(params))
    ref.backward()
    assert loss.data == pytest.approx(ref.item(), rel=1e-12)
    for layer, (W, b, _) in zip(model.layers, layers, strict=True):
        for i, n in enumerate(layer.neurons):
            assert [w.grad for w in n.w] == pytest.approx(W.grad[i].tolist(), rel=1e-9, abs=1e-12)
            assert n.b.grad == pytest.approx(b.grad[i].item(), rel=1e-9, abs=1e-12)


def test_backward_twice_accumulates_like_pytorch(torch):
    xs = [0.7, -1.3, 2.0]
    ours = [Value(x) for x in xs]
    out = EXPRESSIONS["reused"](*ours)
    theirs = as_tensors(torch, xs)
    ref = EXPRESSIONS["reused"](*theirs)
    for _ in range(2):
        out.backward()
        ref.backward(retain_graph=True)
    for v, t in zip(ours, theirs, strict=True):
        assert v.grad == pytest.approx(grad_of(t), rel=1e-12, abs=1e-12)


# --- calling backward() more than once ---------------------------------------------


def test_backward_twice_doubles_the_leaves_gradients():
    a, b = Value(2.0), Value(-3.0)
    d = a * b + a  # an inner node used twice below
    out = d * d + d
    out.backward()
    once = (a.grad, b.grad)
    out.backward()
    assert (a.grad, b.grad) == (2 * once[0], 2 * once[1])
    # inner nodes hold the gradient of the last pass only
    assert d.grad == 2 * d.data + 1
    assert out.grad == 1.0


def test_backward_of_two_outputs_adds_their_gradients():
    a = Value(3.0)
    shared = a * a
    first, second = shared * 2, shared.exp()
    first.backward()
    second.backward()
    assert a.grad == pytest.approx(2 * 2 * a.data + math.exp(9.0) * 2 * a.data)


def test_zero_grad_after_accumulating_starts_again():
    random.seed(1)
    model = MLP(3, [4, 1])
    out = model([1.0, -2.0, 0.5])
    out.backward()
    once = [p.grad for p in model.parameters()]
    out.backward()
    assert [p.grad for p in model.parameters()] == pytest.approx([2 * g for g in once])
    model.zero_grad()
    assert all(p.grad == 0 for p in model.parameters())
    out.backward()
    assert [p.grad for p in model.parameters()] == pytest.approx(once)


def test_backward_on_a_leaf_accumulates_one_each_time():
    a = Value(5.0)
    a.backward()
    a.backward()
    assert a.grad == 2.0
