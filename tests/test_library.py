"""The packaged library (docs/library.md): a superset of karpathy/micrograd 0.1.0.

The tests below are written the way code for the original package is written
(its imports, its names, its idioms) and must run here unchanged. Reference
numbers are worked out by hand in the comments, or are the ones the original
project publishes for the same expression.
"""

import math
import random

import pytest

from micrograd.engine import Value
from micrograd.nn import MLP, Layer, Module, Neuron

# --- the engine: Value --------------------------------------------------------


def test_sanity_check_expression():
    # the original package's own sanity check, run unchanged
    x = Value(-4.0)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    # z = 3x + 2 = -10, so relu(z) = 0 and q = z*x = 40, h = z^2 = 100,
    # y = h + q + q*x = -20; dy/dx = 2*z*3 + (3x + z) + (3x + z)*x + q = 46
    assert y.data == -20.0
    assert x.grad == 46.0


def test_more_ops_expression_matches_published_numbers():
    # the original README example; it prints 24.7041, 138.8338 and 645.5773
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    assert f"{g.data:.4f}" == "24.7041"
    assert f"{a.grad:.4f}" == "138.8338"
    assert f"{b.grad:.4f}" == "645.5773"


@pytest.mark.parametrize(
    "expr, data, grad",
    [
        (lambda a: 3 + a, 7.0, 1.0),  # __radd__
        (lambda a: 3 - a, -1.0, -1.0),  # __rsub__
        (lambda a: 3 * a, 12.0, 3.0),  # __rmul__
        (lambda a: 8 / a, 2.0, -0.5),  # __rtruediv__: d(8/a)/da = -8/a^2
        (lambda a: a - 3, 1.0, 1.0),  # __sub__
        (lambda a: a / 8, 0.5, 0.125),  # __truediv__
        (lambda a: -a, -4.0, -1.0),  # __neg__
        (lambda a: a**3, 64.0, 48.0),  # __pow__: 3a^2
    ],
    ids=["radd", "rsub", "rmul", "rtruediv", "sub", "truediv", "neg", "pow"],
)
def test_number_on_either_side_of_an_operator(expr, data, grad):
    a = Value(4.0)
    out = expr(a)
    out.backward()
    assert isinstance(out, Value)
    assert out.data == pytest.approx(data)
    assert a.grad == pytest.approx(grad)


@pytest.mark.parametrize("x, data, grad", [(-2.0, 0.0, 0.0), (0.0, 0.0, 0.0), (3.0, 3.0, 1.0)])
def test_relu_passes_positive_values_and_their_gradient(x, data, grad):
    a = Value(x)
    r = a.relu()
    r.backward()
    assert r.data == data
    assert a.grad == grad
    assert r._op == "ReLU"


def test_lecture_operations_are_kept():
    a = Value(0.5, label="a")
    t = a.tanh()
    e = a.exp()
    (t + e).backward()
    assert a.label == "a"
    assert t.data == pytest.approx(math.tanh(0.5))
    assert e.data == pytest.approx(math.exp(0.5))
    assert a.grad == pytest.approx(1 - math.tanh(0.5) ** 2 + math.exp(0.5))


def test_value_repr_shows_data_and_grad():
    a = Value(3.0)
    b = a * a
    b.backward()
    assert repr(a) == "Value(data=3.0, grad=6.0)"
    assert repr(b) == "Value(data=9.0, grad=1.0)"


def test_graph_children_are_kept_in_order_and_prev_is_their_set():
    a, b = Value(1.0), Value(2.0)
    assert (a * b)._children == (a, b)
    assert (b * a)._children == (b, a)
    assert (a * b)._prev == {a, b} and type((a * b)._prev) is set  # the original's type
    assert (a.relu()._children, a._children, a._prev) == ((a,), (), set())


# --- the network modules ------------------------------------------------------


def test_module_base_class_has_no_parameters():
    m = Module()
    assert m.parameters() == []
    m.zero_grad()  # nothing to do, and no error
    assert all(issubclass(cls, Module) for cls in (Neuron, Layer, MLP))


def test_neuron_parameters_nonlin_and_repr():
    n = Neuron(3)
    assert len(n.parameters()) == 4
    assert n.parameters()[-1] is n.b
    assert n.b.data == 0
    assert n.nonlin is True
    assert repr(n) == "ReLUNeuron(3)"
    assert repr(Neuron(2, nonlin=False)) == "LinearNeuron(2)"


def test_relu_neuron_clips_and_linear_neuron_does_not():
    relu, linear = Neuron(2), Neuron(2, nonlin=False)
    for n in (relu, linear):
        n.w = [Value(-1.0), Value(0.5)]
    assert relu([2.0, 1.0]).data == 0.0
    assert linear([2.0, 1.0]).data == -1.5
    assert relu([1.0, 4.0]).data == linear([1.0, 4.0]).data == 1.0


def test_layer_passes_kwargs_and_returns_a_single_value_for_one_neuron():
    layer = Layer(2, 3, nonlin=False)
    assert repr(layer) == "Layer of [LinearNeuron(2), LinearNeuron(2), LinearNeuron(2)]"
    assert len(layer.parameters()) == 9
    out = layer([1.0, 2.0])
    assert isinstance(out, list) and len(out) == 3
    assert isinstance(Layer(2, 1)([1.0, 2.0]), Value)


def test_mlp_shape_repr_and_parameter_count():
    model = MLP(2, [16, 16, 1])
    assert len(model.parameters()) == 337
    assert [len(layer.neurons) for layer in model.layers] == [16, 16, 1]
    assert all(n.nonlin for layer in model.layers[:-1] for n in layer.neurons)
    assert not model.layers[-1].neurons[0].nonlin
    assert repr(MLP(2, [3, 1])) == (
        "MLP of [Layer of [ReLUNeuron(2), ReLUNeuron(2), ReLUNeuron(2)], "
        "Layer of [LinearNeuron(3)]]"
    )


def test_same_seed_draws_the_same_network_as_the_original():
    # The original draws one uniform(-1, 1) per weight, neuron by neuron and
    # layer by layer, and sets every bias to 0 without drawing.
    random.seed(1337)
    expected = []
    for nin, nout in [(2, 16), (16, 16), (16, 1)]:
        for _ in range(nout):
            expected += [random.uniform(-1, 1) for _ in range(nin)] + [0]
    random.seed(1337)
    model = MLP(2, [16, 16, 1])
    assert [p.data for p in model.parameters()] == expected


def test_zero_grad_resets_every_parameter():
    random.seed(0)
    model = MLP(3, [4, 4, 1])
    model([1.0, -2.0, 3.0]).backward()
    assert any(p.grad != 0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0 for p in model.parameters())


def test_training_loop_in_the_style_of_the_original_demo():
    # the original demo's loop: Value inputs, hinge loss, L2, decaying rate
    random.seed(1337)
    model = MLP(2, [8, 1])
    X = [[-1.0, -0.5], [-0.8, 0.3], [0.9, 0.4], [0.7, -0.6]]
    y = [-1, -1, 1, 1]

    def loss():
        inputs = [list(map(Value, xrow)) for xrow in X]
        scores = list(map(model, inputs))
        pairs = list(zip(y, scores, strict=True))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in pairs]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = 1e-4 * sum(p * p for p in model.parameters())
        accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in pairs]
        return data_loss + reg_loss, sum(accuracy) / len(accuracy)

    history = []
    for k in range(20):
        total_loss, acc = loss()
        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        history.append(total_loss.data)
    total_loss, acc = loss()
    assert total_loss.data < history[0] / 10
    assert acc == 1.0


# --- bad input ----------------------------------------------------------------


@pytest.mark.parametrize("x", [[1.0, 2.0], [1.0, 2.0, 3.0, 4.0]], ids=["short", "long"])
@pytest.mark.parametrize(
    "module", [Neuron(3), Layer(3, 2), MLP(3, [4, 1])], ids=["Neuron", "Layer", "MLP"]
)
def test_wrong_number_of_inputs_is_a_value_error(module, x):
    with pytest.raises(ValueError, match=rf"^expected 3 inputs, got {len(x)}$"):
        module(x)


# --- the package's top level --------------------------------------------------


def test_public_names_at_the_top_level():
    import micrograd
    from micrograd import draw_dot

    assert micrograd.Value is Value
    assert micrograd.MLP is MLP and micrograd.Module is Module
    dot = draw_dot(Value(-1.0).relu())
    assert "ReLU" in dot.source
