"""Extreme magnitudes: the forward pass is Python's arithmetic, and gradients never raise.

Where Python's float arithmetic (or the math function) gives a value, 0.0 by
underflow and inf included, the Value gives the same value, and backward()
runs: a local derivative too large for a float becomes inf instead of an
OverflowError. Where Python raises, we raise the same class of exception
(``x ** k`` that Python answers with a complex number is a ValueError, as in
``math.pow``). The fused neuron gives exactly what the scalar graph gives,
NaN and inf included, for every kind of number the scalar graph accepts.
"""

import math
import operator

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from micrograd.engine import Value
from micrograd.nn import Layer, Neuron

EDGES = [0.0, -0.0, 5e-324, -5e-324, 1e-300, -1e-300, 1e-160, 1e160, 1e300, -1e300,
         1.7976931348623157e308, -1.7976931348623157e308, math.inf, -math.inf, math.nan,
         1.0, -1.0, 2.0, 0.5, 709.0, 710.0, -745.0]
numbers = st.one_of(st.sampled_from(EDGES), st.floats(), st.integers(-10**6, 10**6))
exponents = st.one_of(st.sampled_from(EDGES), st.floats(), st.integers(-1100, 1100))


def same(a, b):
    """Equal as floats, NaN equal to NaN, and a zero's sign kept."""
    if a != a:  # NaN, of any type
        return b != b
    return a == b and (a != 0 or math.copysign(1, a) == math.copysign(1, b))


def relu(x):
    return 0.0 if x < 0 else x


def power(x, k):
    out = x**k
    if isinstance(out, complex):  # no real answer: math.pow's ValueError
        raise ValueError(out)
    return out


BINARY = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}
UNARY = {"exp": math.exp, "log": math.log, "tanh": math.tanh, "relu": relu,
         "neg": operator.neg}


def python(f, *args):
    """('value', result) or ('raises', exception class) of Python's own arithmetic."""
    try:
        return "value", f(*args)
    except (ArithmeticError, ValueError) as err:
        return "raises", type(err)


def ours(f, *args):
    """The same for the Value version, with backward() run on the result."""
    try:
        out = f(*args)
    except (ArithmeticError, ValueError) as err:
        return "raises", type(err)
    out.backward()  # must not raise, whatever the local derivatives are
    return "value", out.data


def check(expected, got, what):
    assert expected[0] == got[0], f"{what}: Python {expected}, Value {got}"
    if expected[0] == "value":
        assert same(expected[1], got[1]), f"{what}: Python gives {expected[1]!r}, Value {got[1]!r}"
    else:
        assert expected[1] is got[1], f"{what}: Python raises {expected[1]}, Value {got[1]}"


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(BINARY)), numbers, numbers)
@example("/", 1.0, 1e-200)  # the derivative -x / y**2 overflowed; y**2 underflowed to 0
@example("/", 1.0, 1e200)
def test_binary_operations_give_what_python_gives(name, x, y):
    f = BINARY[name]
    expected = python(f, x, y)
    check(expected, ours(lambda a, b: f(Value(a), Value(b)), x, y),
          f"Value({x!r}) {name} Value({y!r})")
    check(expected, ours(lambda a, b: f(a, Value(b)), x, y), f"{x!r} {name} Value({y!r})")
    check(expected, ours(lambda a, b: f(Value(a), b), x, y), f"Value({x!r}) {name} {y!r}")


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(UNARY)), numbers)
def test_unary_operations_give_what_python_gives(name, x):
    f = UNARY[name]
    method = {"neg": operator.neg}.get(name, operator.methodcaller(name))
    check(python(f, x), ours(lambda a: method(Value(a)), x), f"{name}({x!r})")


@settings(max_examples=600, deadline=None)
@given(numbers, exponents)
@example(1e-200, -1)  # x ** k is 1e200, its derivative -1 / x**2 overflows
@example(-1e-110, -2)  # a negative base: inf with the sign of k x**(k-1)
@example(1e-170, -1.5)
@example(-math.inf, 0.5)  # Python gives inf, not a complex number
@example(0.0, -math.inf)  # Python gives inf, not ZeroDivisionError
@example(-2.0, math.nan)
def test_powers_give_what_python_gives(x, k):
    check(python(power, x, k), ours(lambda a: Value(a) ** k, x), f"Value({x!r}) ** {k!r}")


@pytest.mark.parametrize("x, k, grad", [(1e-200, -1, -math.inf), (-1e-110, -2, math.inf),
                                        (-1e-200, -1, -math.inf), (1e-170, -1.5, -math.inf),
                                        (-1e-80, -3, -math.inf)])
def test_a_derivative_too_big_for_a_float_is_inf_with_its_sign(x, k, grad):
    a = Value(x)
    out = a**k
    out.backward()
    assert out.data == x**k
    assert a.grad == grad


def test_division_by_a_tiny_or_a_huge_number_has_finite_or_infinite_gradients():
    for y, grad_y in [(1e-200, -math.inf), (1e200, -1e-400)]:
        a, b = Value(1.0), Value(y)
        out = a / b
        out.backward()
        assert (out.data, a.grad, b.grad) == (1.0 / y, 1 / y, grad_y)


# --- the fused neuron against the scalar graph ----------------------------------------------

finite_or_not = st.one_of(st.sampled_from(EDGES), st.floats(width=64))
kinds = st.sampled_from(["float", "int", "numpy float64", "numpy float32", "numpy int64", "Value"])


def as_kind(x, kind):
    if kind in ("int", "numpy int64"):
        if not (math.isfinite(x) and abs(x) < 1e18):
            return x  # no such int: the float itself
        x = int(x)
    if kind.startswith("numpy"):
        return getattr(np, kind.split()[1])(x)
    return Value(x) if kind == "Value" else x


def run(neuron_of, w, b, xs, upstream):
    """Forward, then backward with an upstream gradient: data and every grad."""
    neuron = neuron_of()
    for wi, v in zip(neuron.w, w, strict=True):
        wi.data = v
    neuron.b.data = b
    out = neuron(xs)
    (out * upstream).backward()
    inputs = [xi.grad for xi in xs if isinstance(xi, Value)]
    return out.data, [p.grad for p in neuron.parameters()], inputs


@settings(max_examples=400, deadline=None)
@given(st.lists(finite_or_not, min_size=1, max_size=4), finite_or_not,
       st.data(), st.booleans(), kinds, finite_or_not)
def test_a_fused_neuron_gives_exactly_what_the_scalar_graph_gives(w, b, data, nonlin, kind,
                                                                   upstream):
    xs = data.draw(st.lists(finite_or_not, min_size=len(w), max_size=len(w)))
    with np.errstate(all="ignore"):  # numpy's overflow warnings: same arithmetic in both
        results = []
        for fused in (False, True):
            inputs = [as_kind(x, kind) for x in xs]  # fresh Values for each path
            results.append(run(lambda f=fused: Neuron(len(w), nonlin=nonlin, fused=f),
                               w, b, inputs, upstream))
    (data_s, params_s, ins_s), (data_f, params_f, ins_f) = results
    assert same(data_s, data_f) and type(data_s) is type(data_f), (data_s, data_f)
    assert all(map(same, params_s, params_f)), (params_s, params_f)
    assert all(map(same, ins_s, ins_f)), (ins_s, ins_f)


@pytest.mark.parametrize("kind", ["numpy float64", "numpy float32", "numpy int64", "int",
                                  "float", "Value"])
def test_a_fused_layer_takes_every_kind_of_number_the_scalar_one_takes(kind):
    outs = []
    for fused in (False, True):
        layer = Layer(3, 2, fused=fused)
        for i, p in enumerate(layer.parameters()):
            p.data = 0.25 * (i - 3)
        out = layer([as_kind(x, kind) for x in (1.0, -2.0, 3.0)])
        outs.append([(o.data, type(o.data)) for o in out])
    assert outs[0] == outs[1]


def test_an_off_relu_passes_nan_on_when_the_gradient_is_infinite():
    for fused in (False, True):
        n = Neuron(2, fused=fused)
        for p, v in zip(n.parameters(), (1.0, 1.0, -5.0), strict=True):
            p.data = v
        out = n([Value(1.0), Value(1.0)])  # 1 + 1 - 5 < 0: the ReLU is off
        (out * math.inf).backward()
        assert out.data == 0.0
        assert all(math.isnan(p.grad) for p in n.parameters()), (fused, n.parameters())
