"""Edge cases and bad input for the generated package (docs/fast.md).

Every bad input fails at once with a message that says what went wrong:
which operation, which value or which type. Extreme but valid inputs give
the limit values, and deep graphs backpropagate without a RecursionError.
"""

import gc
import math
import random
from fractions import Fraction

import pytest

from micrograd import draw_dot
from micrograd.engine import Value
from micrograd.nn import MLP, Layer, Neuron

# --- what a Value may hold ----------------------------------------------------------


@pytest.mark.parametrize("data, name", [("3", "str"), (None, "NoneType"), ([1.0], "list"),
                                        (1 + 2j, "complex")])
def test_a_value_of_something_else_than_a_number_is_a_type_error(data, name):
    with pytest.raises(TypeError, match=rf"^Value\(\) needs an int or a float, got {name}$"):
        Value(data)


@pytest.mark.parametrize("data", [3, 2.5, True, Fraction(1, 2)])
def test_ints_floats_and_other_real_numbers_are_accepted(data):
    assert Value(data).data == data


def test_an_operand_that_is_not_a_number_is_a_type_error_naming_its_type():
    for attempt in (lambda: Value(1.0) + "a", lambda: "a" * Value(1.0),
                    lambda: Value(1.0) - None, lambda: [1] / Value(2.0)):
        with pytest.raises(TypeError, match="needs an int or a float, got"):
            attempt()


# --- operations without an answer ------------------------------------------------------


@pytest.mark.parametrize("attempt, message", [
    (lambda: Value(1.0) / 0, "Value division by zero: 1.0 / 0"),
    (lambda: Value(1.0) / Value(0.0), "Value division by zero: 1.0 / 0.0"),
    (lambda: 2 / Value(0.0), "Value division by zero: 2 / 0.0"),
    (lambda: Value(0.0) ** -1, "Value ** -1: 0.0 ** -1 divides by zero"),
    (lambda: Value(0) ** -0.5, "Value ** -0.5: 0 ** -0.5 divides by zero"),
], ids=["by number", "by Value", "reflected", "negative power", "negative float power"])
def test_division_by_zero_names_the_operation_and_the_values(attempt, message):
    with pytest.raises(ZeroDivisionError) as err:
        attempt()
    assert str(err.value) == message


@pytest.mark.parametrize("x", [0.0, -2.0, -1e-300])
def test_log_of_a_non_positive_number_names_the_operation_and_the_value(x):
    with pytest.raises(ValueError) as err:
        Value(x).log()
    assert str(err.value) == f"Value.log: log({x}) is undefined, the input must be > 0"


def test_a_negative_base_with_a_fractional_exponent_is_a_value_error():
    message = r"^Value \*\* 0\.5: -8\.0 \*\* 0\.5 is not a real number$"
    with pytest.raises(ValueError, match=message):
        Value(-8.0) ** 0.5
    assert (Value(-2.0) ** 3).data == -8.0  # a whole exponent is fine
    assert (Value(-2.0) ** 2.0).data == 4.0


# --- overflow and saturation -------------------------------------------------------------


def test_exp_overflow_raises_an_overflow_error_naming_the_value():
    with pytest.raises(OverflowError) as err:
        Value(1000.0).exp()
    assert str(err.value) == "Value.exp: exp(1000.0) overflows a float"
    big = Value(709.0).exp()  # just below the largest float
    assert math.isfinite(big.data)


def test_pow_overflow_raises_an_overflow_error_naming_the_values():
    with pytest.raises(OverflowError, match=r"^Value \*\* 2: 1e\+200 \*\* 2 overflows a float$"):
        Value(1e200) ** 2


@pytest.mark.parametrize("x, t", [(1000.0, 1.0), (-1000.0, -1.0), (1e308, 1.0), (-1e308, -1.0)])
def test_tanh_at_large_inputs_is_plus_or_minus_one_with_zero_gradient(x, t):
    a = Value(x)
    out = a.tanh()
    out.backward()
    assert out.data == t
    assert a.grad == 0.0


@pytest.mark.parametrize("k, data, grad", [(0.5, 0.0, math.inf), (0, 1.0, 0.0), (1, 0.0, 1.0),
                                           (2, 0.0, 0.0)])
def test_powers_at_zero_have_the_limit_gradient(k, data, grad):
    a = Value(0.0)
    out = a**k
    out.backward()
    assert (out.data, a.grad) == (data, grad)


def test_relu_at_zero_passes_no_gradient():
    a = Value(0.0)
    out = a.relu()
    out.backward()
    assert (out.data, a.grad) == (0.0, 0.0)


# --- Value ** Value -------------------------------------------------------------------------


def test_a_value_exponent_is_refused_with_a_type_error_that_shows_the_way():
    with pytest.raises(TypeError) as err:
        Value(2.0) ** Value(3.0)
    assert str(err.value).startswith("Value ** Value is not supported")
    assert "(b * a.log()).exp()" in str(err.value)
    with pytest.raises(TypeError, match=r"^Value \*\* str is not supported"):
        Value(2.0) ** "3"


def test_the_suggested_way_to_a_value_exponent_has_the_right_gradients():
    a, b = Value(2.0), Value(3.0)
    c = (b * a.log()).exp()
    c.backward()
    assert c.data == pytest.approx(8.0)
    assert a.grad == pytest.approx(3.0 * 2.0**2)  # b a**(b-1)
    assert b.grad == pytest.approx(8.0 * math.log(2.0))  # a**b ln a


# --- modules: the number of inputs ---------------------------------------------------------


@pytest.mark.parametrize("fused", [False, True], ids=["scalar", "fused"])
@pytest.mark.parametrize("x", [[1.0, 2.0], [1.0, 2.0, 3.0, 4.0]], ids=["short", "long"])
def test_a_wrong_number_of_inputs_is_a_value_error(x, fused):
    for module in (Neuron(3, fused=fused), Layer(3, 2, fused=fused), MLP(3, [4, 1], fused=fused)):
        with pytest.raises(ValueError, match=rf"^expected 3 inputs, got {len(x)}$"):
            module(x)


def test_a_fused_network_takes_plain_numbers_like_the_scalar_one():
    outs = []
    for fused in (False, True):
        random.seed(7)
        outs.append(MLP(2, [3, 1], fused=fused)([0.5, -1.5]).data)
    assert outs[0] == outs[1]
    with pytest.raises(TypeError, match="got str"):
        MLP(2, [3, 1], fused=True)([0.5, "x"])


# --- deep and large graphs ---------------------------------------------------------------------


def test_a_million_node_chain_backpropagates_without_recursion_error():
    x = Value(0.5)
    y = x
    for _ in range(999_999):  # x and 999,999 operations: a million values
        y = y.relu()
    y.backward()
    assert x.grad == 1.0
    del x, y  # freeing the chain must not recurse either


def test_a_graph_is_freed_without_the_cyclic_collector():
    gc.collect()
    x = Value(1.0)
    y = x
    for _ in range(1000):
        y = (y * 1.0001 + 0.5).tanh()
    y.backward()
    del x, y
    assert gc.collect() == 0  # nothing was left in a reference cycle


def test_graphs_still_draw_with_draw_dot():
    a = Value(2.0, label="a")
    out = (a * 3 - 1).relu()
    source = draw_dot(out).source
    for op in ("*", "-", "ReLU"):
        assert f"label={op}" in source or f'label="{op}"' in source
    fused = MLP(2, [2, 1], fused=True)([1.0, 2.0])
    assert "dot" in draw_dot(fused).source
