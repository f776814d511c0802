"""The training playground in a real browser (docs/playground.md).

Served and recorded like the other browser tests (no request may leave the
machine). The losses the page shows are compared with the same code run in
CPython: the playground chapter's own blocks, through the chapter runner.
"""

from __future__ import annotations

import functools
import json

import pytest

from tests.test_browser import (
    ARTIFACTS,
    Tab,
    close_checked,
)
from tools.book import ROOT, read_blocks
from tools.runner import chapter_session

PLAYGROUND = ROOT / "docs" / "playground.md"
TIMEOUT = 180_000


@pytest.fixture
def playground(browser, base_url, reader):
    tabs = []

    def open_(**options):
        t = Tab(browser, base_url, None if options else reader, **options)
        tabs.append(t)
        t.visit("playground/")
        return t.page

    yield open_
    close_checked(tabs)


@functools.cache
def playground_namespace() -> dict:
    """The playground's session in CPython: the blocks the page's playground runs."""
    session = chapter_session(PLAYGROUND)
    for block in (b for b in read_blocks(PLAYGROUND) if b.in_playground):
        session.run(block)
    return session.namespace


def cpython_losses(steps: int, **settings) -> list[float]:
    trainer = playground_namespace()["Trainer"](**settings)  # a run of its own, from its seed
    return [trainer.step()[0] for _ in range(steps)]


def number(page, attribute: str) -> float:
    return float(page.locator(f"[{attribute}]").get_attribute(attribute))


def press_step(page, times: int) -> list[float]:
    """Press Step ``times`` times; the loss shown after each."""
    losses = []
    for _ in range(times):
        before = number(page, "data-step")
        page.get_by_role("button", name="Step", exact=True).click()
        page.wait_for_function(
            f"() => Number(document.querySelector('[data-step]').dataset.step) > {before}",
            timeout=TIMEOUT)
        losses.append(number(page, "data-loss"))
    return losses


def test_train_learns_the_moons_pause_stops_and_reset_starts_over(playground):
    page = playground()
    assert number(page, "data-step") == 0
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_function(
        "() => Number(document.querySelector('[data-accuracy]').dataset.accuracy) >= 0.95",
        timeout=TIMEOUT)
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(".mg-playground").screenshot(path=ARTIFACTS / "playground.png")
    assert page.locator(".mg-pg-boundary rect").count() >= 400  # the colour map
    assert page.locator(".mg-pg-net .mg-pg-neuron").count() == 16 + 16 + 1
    page.get_by_role("button", name="Pause", exact=True).click()
    # a chunk in flight still lands; then the loop sees the pause and says so
    page.locator(".mg-pg-status", has_text="paused").wait_for(timeout=15_000)
    paused_at = number(page, "data-step")
    page.wait_for_timeout(600)  # longer than a chunk takes
    assert number(page, "data-step") == paused_at, "Pause did not stop training"
    assert number(page, "data-accuracy") >= 0.95
    page.get_by_role("button", name="Reset", exact=True).click()
    page.wait_for_function("() => document.querySelector('[data-step]').dataset.step === '0'"
                           " && document.querySelector('[data-loss]').dataset.loss !== ''",
                           timeout=TIMEOUT)
    # step 0 shows the new network's loss, before any update: the first step's loss
    assert number(page, "data-loss") == pytest.approx(cpython_losses(1)[0], abs=1e-9)
    assert 0 <= number(page, "data-accuracy") <= 1


def test_the_playground_leaves_out_the_demonstrations_and_they_agree_with_it(site):
    """Train does not wait for the chapter's demonstrations (their 250 steps),
    and leaving them out changes nothing: a Trainer from the playground's
    session trains exactly as one made after the whole chapter."""
    blocks = read_blocks(PLAYGROUND)
    skipped = [b for b in blocks if b.playground_skips is not None]
    assert len(skipped) >= 2 and all("trainer.step()" in b.code for b in skipped)
    data = json.loads((site / "playground" / "playground.session.json").read_text())
    assert [b["playground"] for b in data["blocks"]] == [b.in_playground for b in blocks]
    whole = chapter_session(PLAYGROUND)
    for block in blocks:
        whole.run(block)
    trainer = whole.namespace["Trainer"]()
    assert cpython_losses(5) == [trainer.step()[0] for _ in range(5)]


def test_training_past_the_demos_100_steps_keeps_learning():
    """Train runs until paused; the decaying rate must not turn negative."""
    losses = cpython_losses(250)
    assert max(losses[150:]) < 0.05, f"the loss climbed again: {max(losses[150:])}"


def test_the_first_20_losses_equal_cpythons(playground):
    page = playground()
    shown = press_step(page, 20)
    expected = cpython_losses(20)
    for k, (a, b) in enumerate(zip(shown, expected, strict=True)):
        assert abs(a - b) <= 1e-9, f"step {k}: page {a!r}, CPython {b!r}"


def test_forgetting_zero_grad_behaves_as_the_training_chapter_says(playground):
    page = playground()
    page.get_by_label("Forget zero_grad").check()
    forgot = press_step(page, 20)
    right = cpython_losses(20)
    # the first two losses come before any gradient is left over
    assert forgot[:2] == pytest.approx(right[:2], abs=1e-9)
    # then the piled-up gradients take over: the run no longer follows the loss
    assert all(abs(a - b) > 1e-6 for a, b in zip(forgot[2:], right[2:], strict=True))
    assert forgot[-1] > 2 * right[-1]
    assert forgot == pytest.approx(cpython_losses(20, zero_grad=False), abs=1e-9)


def test_a_neurons_data_and_grad_show_on_tap(playground):
    page = playground()
    press_step(page, 1)
    neuron = page.locator(".mg-pg-net .mg-pg-neuron").first
    neuron.click()
    info = page.locator(".mg-pg-info").text_content()
    assert "data " in info and "grad " in info, info


def test_the_playground_fits_a_phone(playground):
    page = playground(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    for name in ("Train", "Pause", "Step", "Reset"):
        box = page.get_by_role("button", name=name, exact=True).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, name
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_function("() => Number(document.querySelector('[data-step]').dataset.step) >= 10",
                           timeout=TIMEOUT)
    page.get_by_role("button", name="Pause", exact=True).click()
    for selector in (".mg-pg-boundary", ".mg-pg-curve", ".mg-pg-net", ".mg-pg-controls"):
        box = page.locator(selector).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, selector
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(".mg-playground").screenshot(path=ARTIFACTS / "playground-phone.png")
