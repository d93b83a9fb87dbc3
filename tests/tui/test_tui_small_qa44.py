"""Small defects of the app (QA pass 44): shares that read 100% when they are not, saved state
of deleted experiments, and `?` inside a dialog."""

from __future__ import annotations

from types import SimpleNamespace

from hwscale_tui.tui.analysis_view import describe_recommendation, target_choices

# -- 3. a share below 100% never reads 100% ------------------------------------------------------


def test_a_bootstrap_agreement_below_one_is_not_shown_as_certain():
    rec = SimpleNamespace(
        config="g1n1",
        scenario="research",
        hardware="g1n1 (1 GPU x 1 node)",
        expected_score=None,
        samples_to_target=None,
        time_to_target_s=None,
        cost_to_target_usd=None,
        bootstrap_agreement=0.999,
    )
    assert describe_recommendation(rec).endswith("bootstrap agrees 99.9%")


def test_a_target_just_below_the_best_is_labelled_as_set():
    cfg = SimpleNamespace(analysis=SimpleNamespace(target_kind="fraction", target=0.999))
    labels = [label for label, _ in target_choices(cfg)]
    assert labels == ["50% of best", "75% of best", "90% of best", "99.9% of best"]
