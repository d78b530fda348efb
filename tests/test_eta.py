import pytest

from supervisor_app.infra.eta import Eta, fmt_duration_s, training_eta_text


def test_eta_from_average_item_cost():
    t = [0.0]
    eta = Eta(clock=lambda: t[0])
    assert eta.remaining_s(0, 10) is None and "estimating" in eta.text(0, 10)
    t[0] = 30.0
    assert eta.remaining_s(3, 10) == 70.0
    assert eta.text(3, 10) == "about 70 s left"
    assert eta.remaining_s(10, 10) == 0.0


def test_formats_and_training_bound():
    assert fmt_duration_s(45) == "45 s" and fmt_duration_s(600) == "10 min" and fmt_duration_s(7500) == "2 h 05 min"
    # 10 s epochs, patience 5, 2 epochs since the best: at most 3 more epochs
    assert training_eta_text(20, 200, 10.0, 5, 2).startswith("at most 30 s left")
    assert training_eta_text(199, 200, 10.0, 5, 0).startswith("at most 10 s left")


def test_eta_from_fraction_follows_the_recent_rate_after_a_jump():
    """``catalog index`` skips what is indexed (0 → 95 % at once), then describes one slow track after
    another: the time left is the remaining 5 % at the rate of the slow tracks, not "1 s left"."""
    t = [0.0]
    eta = Eta(clock=lambda: t[0])
    t[0] = 0.5
    eta.observe(0.95)  # the skip
    for k in range(1, 6):  # then 1 % every 10 s
        t[0] = 0.5 + 10.0 * k
        eta.observe(0.95 + 0.01 * k / 5)
    t[0] = 50.5
    left = eta.remaining_at_s(0.96)
    assert left == pytest.approx(0.04 / 0.002 * 10.0, rel=0.01)  # 200 s: 0.2 % per 10 s
    assert "about 3 min left" == eta.text_at(0.96)


def test_eta_from_fraction_is_the_average_for_a_steady_job():
    t = [0.0]
    eta = Eta(clock=lambda: t[0])
    for k in range(1, 101):
        t[0] = float(k)
        eta.observe(k / 200)
    assert eta.remaining_at_s(0.5) == pytest.approx(100.0)
    assert Eta(clock=lambda: 0.0).remaining_at_s(0.0) is None
