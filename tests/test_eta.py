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
