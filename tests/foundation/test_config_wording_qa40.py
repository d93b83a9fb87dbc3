"""Config errors say numbers as a user types them and say what is wrong with a name, in the
words of the mode the experiment runs in (session 40)."""

from __future__ import annotations

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.errors import ConfigError


def _error(tmp_path, text: str) -> str:
    path = tmp_path / "e.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as ei:
        cfgmod.load(path, env={})
    return str(ei.value)


@pytest.mark.parametrize(
    ("text", "said", "not_said"),
    [
        (
            "[cost]\nprice_per_gpu_hour = 2e6\n",
            "got 2000000; accepted: a number from 0 to 1000000",
            "e+06",
        ),
        ("[launch]\ndelay_s = -1\n", "got -1; accepted: a number from 0 to 604800", "-1.0"),
        ("[launch]\ndelay_s = -0.5\n", "got -0.5;", "-0.5.0"),
    ],
)
def test_numbers_are_said_as_typed(tmp_path, text, said, not_said):
    message = _error(tmp_path, text)
    assert said in message
    assert not_said not in message


def test_an_empty_name_is_called_empty_not_a_skypilot_problem(tmp_path):
    message = _error(tmp_path, '[experiment]\nname = ""\n')
    assert (
        "experiment.name: the name is empty; accepted: a name that starts with a letter" in message
    )
    assert "SkyPilot" not in message
    bad = _error(tmp_path, '[experiment]\nname = "my run"\n')
    assert "'my run' cannot name the sweeps" in bad


def test_too_many_per_node_is_said_in_ranks_in_local_mode_and_in_gpus_elsewhere(tmp_path):
    local = _error(tmp_path, "[grid]\ngpu_counts = [9]\n")
    assert "9 ranks is more than max_gpus_per_node = 8" in local
    cluster = _error(tmp_path, '[experiment]\ndispatcher = "skypilot"\n[grid]\ngpu_counts = [9]\n')
    assert "9 GPUs is more than max_gpus_per_node = 8" in cluster


def test_the_number_wording_keeps_every_digit_of_a_fraction_and_short_huge_values():
    assert cfgmod.plain_number(0.123456789) == "0.123456789"
    assert cfgmod.plain_number(1e15) == "1e+15"
    assert cfgmod.plain_number(-1.0) == "-1"
    assert cfgmod.plain_number(7) == "7"


@pytest.mark.parametrize("flag", ["--node-counts", "--gpu-counts"])
def test_an_extra_argument_swallowed_by_a_count_list_is_said_so(flag, capsys):
    """`plan --node-counts 1 metric_path=x` said "'metric_path=x' is not an integer": the list
    had taken the extra argument, and nothing said where it goes."""
    from hwscale_tui.cli import main

    assert main(["plan", flag, "1", "metric_path=x"]) == 2
    err = capsys.readouterr().err
    assert (
        f"{flag}: 'metric_path=x' is an extra KEY=VALUE argument read as one of its counts" in err
    )
    assert f"({flag} 1 2 -- metric_path=x)" in err
    assert main(["plan", flag, "1", "--", "seed=3"]) == 0  # the way the sentence shows works
