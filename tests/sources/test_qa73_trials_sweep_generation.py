"""``trials --sweep <one generation's sweep> --generation <another>`` is refused (helper 73's QA
pass): it listed '0 trials from local' with exit 0, as if the sweep had none."""

from __future__ import annotations

import pytest

from hwscale_tui.cli import main
from hwscale_tui.store import Store


@pytest.fixture
def two_generations(tmp_path):
    exp = tmp_path / "exp.toml"
    exp.write_text('[experiment]\nname = "exp"\n[grid]\ngpu_counts = [1]\nnode_counts = [1]\n')
    with Store.open_default() as store:
        store.touch_experiment("exp", file=str(exp))
        for sweep in ("exp.g1n1", "exp.g1n1.gen2"):
            store.insert_trial(
                f"{sweep}_trial_0001", sweep, experiment="exp", gpus=1, nodes=1, state="finished"
            )
        for gen in (1, 2):
            store.add_generation("exp", gen, f"fp{gen}", {}, "test")
    return exp


@pytest.mark.parametrize(
    "sweep,generation,own",
    [("exp.g1n1.gen2", 1, 2), ("g1n1.gen2", 1, 2), ("exp.g1n1", 2, 1)],
)
def test_a_sweep_of_another_generation_is_refused(two_generations, capsys, sweep, generation, own):
    argv = ["trials", "-e", str(two_generations), "--sweep", sweep, "--generation", str(generation)]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        f"hwscale-tui: error: --sweep {sweep} is generation {own}'s sweep, and --generation "
        f"{generation} lists generation {generation}'s trials; accepted: --generation {own}, or "
        "--sweep g1n1 (the pair in every generation).\n"
    )
    assert captured.out == ""


@pytest.mark.parametrize(
    "sweep,generation", [("exp.g1n1", 1), ("exp.g1n1.gen2", 2), ("g1n1", 1), ("g1n1", 2)]
)
def test_a_sweep_of_that_generation_or_a_pair_tag_lists_its_trial(
    two_generations, capsys, sweep, generation
):
    argv = ["trials", "-e", str(two_generations), "--sweep", sweep, "--generation", str(generation)]
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith(f"1 trial from local: exp, generation {generation}")
