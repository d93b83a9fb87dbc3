"""QA 85: ``hwscale-tui trials`` as a new user, against the loopback W&B server (real client)."""

from __future__ import annotations

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.cli import main
from tests.support.wandb_loopback import DEFAULT_ENTITY, WandbLoopback, experiment_runs


@pytest.fixture
def experiment_file(tmp_path):
    cfg = cfgmod.apply_overrides(
        cfgmod.default_config("metta"),
        {"wandb.entity": DEFAULT_ENTITY, "grid.gpu_counts": [1, 2], "grid.node_counts": [1]},
    )
    return cfgmod.save(cfg, tmp_path / "exp.toml")


def test_a_key_wandb_refuses_says_what_to_set(tmp_path, monkeypatch, capsys, experiment_file):
    """It said only "could not read trials: W&B refused the API key (HTTP 401).", where analyze
    says which key to set; retrying with the same key never helps."""
    runs = experiment_runs("hardware_scaling", ["g1n1"], 2)
    with WandbLoopback(runs, api_key="r" * 40) as server:  # not the key the client sends
        for name, value in server.client_env(tmp_path / "wandb-dir", key="k" * 40).items():
            monkeypatch.setenv(name, value)
        rc = main(["trials", "--experiment", str(experiment_file)])
    out, err = capsys.readouterr()
    assert (rc, out) == (1, "")
    assert err == (
        "hwscale-tui: error: could not read trials: W&B refused the API key (HTTP 401); set a "
        "WANDB_API_KEY W&B accepts.\n"
    )


def cells(text: str) -> int:
    """Terminal cells ``text`` takes: 2 for a wide (East Asian) character."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def test_run_ids_with_control_or_wide_characters_keep_the_table_whole(
    tmp_path, monkeypatch, capsys, experiment_file
):
    """A W&B run id holding an escape sequence or a newline was printed raw -- the terminal
    turned red, the row broke in two -- and one of wide characters (日本語) shifted its row's
    columns by one cell per character."""
    runs = experiment_runs("hardware_scaling", ["g1n1", "g2n1"], 2)
    runs[0].name = "hardware_scaling.g1n1_evil\x1b[31mRED\x1b[0m\nnext"
    runs[2].name = "hardware_scaling.g2n1_日本語の名前"
    with WandbLoopback(runs) as server:
        for name, value in server.client_env(tmp_path / "wandb-dir").items():
            monkeypatch.setenv(name, value)
        rc = main(["trials", "--experiment", str(experiment_file)])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "\x1b" not in out
    lines = out.splitlines()
    header, rows = lines[1], lines[3:7]
    assert len(lines) == 8  # title, header, rule, 4 rows, the flagged count: no row broke
    assert "evil\\x1b[31mRED\\x1b[0m\\nnext" in rows[0]  # shown escaped, as repr() would
    at = cells(header[: header.index("state")])
    for row in rows:
        state = next(s for s in ("finished", "stale") if s in row)
        assert cells(row[: row.index(state)]) == at, row


def runs_filter_groups(server) -> list[list[str]]:
    import json

    return [
        sorted(json.loads(v["filters"])["group"]["$in"])
        for op, v in server.requests
        if op == "Runs"
    ]


@pytest.mark.parametrize(
    "args, groups",
    [
        (["--sweep", "g2n1"], ["hardware_scaling.g2n1"]),
        (
            ["--sweep", "g1n1", "--sweep", "g2n1"],
            ["hardware_scaling.g1n1", "hardware_scaling.g2n1"],
        ),
        ([], ["hardware_scaling.g1n1", "hardware_scaling.g2n1"]),
    ],
)
def test_wandb_is_asked_for_the_chosen_sweeps_only(
    tmp_path, monkeypatch, capsys, experiment_file, args, groups
):
    """``trials --sweep g2n1`` asked W&B for the runs of every sweep of the experiment and left
    the others out afterwards: with Metta's large configs, tens of MB per thousand runs fetched
    for nothing (16 sweeps of 1,000 runs: 4 pages of 5,000 for one sweep's 1,000)."""
    import json

    runs = experiment_runs("hardware_scaling", ["g1n1", "g2n1"], 3)
    with WandbLoopback(runs) as server:
        for name, value in server.client_env(tmp_path / "wandb-dir").items():
            monkeypatch.setenv(name, value)
        rc = main(["trials", "--experiment", str(experiment_file), "--json", *args])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert runs_filter_groups(server) == [groups]
    listed = json.loads(out)
    assert listed["sweeps"] == groups
    assert sorted({t["sweep"] for t in listed["trials"]}) == groups
    assert len(listed["trials"]) == 3 * len(groups)


def test_wandb_is_asked_for_one_generations_sweeps_only(
    tmp_path, monkeypatch, capsys, experiment_file
):
    import json

    from hwscale_tui.store import Store

    with Store.open_default() as store:
        store.touch_experiment("hardware_scaling", file=str(experiment_file))
        for gen in (1, 2):
            store.add_generation("hardware_scaling", gen, f"fp{gen}", {}, "test")
    runs = experiment_runs("hardware_scaling", ["g1n1", "g2n1", "g1n1.gen2"], 2)
    with WandbLoopback(runs) as server:
        for name, value in server.client_env(tmp_path / "wandb-dir").items():
            monkeypatch.setenv(name, value)
        rc = main(["trials", "--experiment", str(experiment_file), "--json", "--generation", "2"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    gen2 = ["hardware_scaling.g1n1.gen2", "hardware_scaling.g2n1.gen2"]
    assert runs_filter_groups(server) == [gen2]
    listed = json.loads(out)
    assert [t["sweep"] for t in listed["trials"]] == ["hardware_scaling.g1n1.gen2"] * 2


def test_a_long_cold_curve_export_says_what_it_waits_for(
    tmp_path, monkeypatch, capsys, experiment_file
):
    """``trials --csv --history`` sends one W&B request per curve not cached yet: 4,000 runs
    took 29 s on the loopback server (minutes from real W&B) with nothing printed, as if hung.
    It says first how many it reads; with the curves cached, nothing."""
    from hwscale_tui.commands.trials import CURVES_NOTE_AT

    runs = experiment_runs("hardware_scaling", ["g1n1", "g2n1"], CURVES_NOTE_AT, history_points=3)
    argv = ["trials", "--experiment", str(experiment_file), "--csv", "--history"]
    with WandbLoopback(runs) as server:
        for name, value in server.client_env(tmp_path / "wandb-dir").items():
            monkeypatch.setenv(name, value)
        assert main(argv) == 0
        cold = capsys.readouterr()
        assert main(argv) == 0
        warm = capsys.readouterr()
    n = 2 * CURVES_NOTE_AT
    assert cold.err == (
        f"hwscale-tui: reading {n} learning curves from W&B, one request each (kept in the "
        "cache for the next time) ...\n"
    )
    assert warm.err == "" and warm.out == cold.out
    assert len(cold.out.splitlines()) == 1 + 3 * n


def test_a_metric_no_trial_logged_is_refused_without_reading_every_default_curve(
    tmp_path, monkeypatch, capsys, experiment_file
):
    """``--csv --history --metric typo`` then read every trial's default curve from W&B (one
    request per run: 4,000 for 4,000 runs) only to learn that they logged one. It now stops at
    the first chunk of runs with a curve."""
    import json

    from hwscale_tui.commands.trials import METRIC_CHECK_CHUNK

    runs = experiment_runs("hardware_scaling", ["g1n1", "g2n1"], 12, history_points=3)
    argv = ["trials", "-e", str(experiment_file), "--csv", "--history", "--metric", "typo"]
    with WandbLoopback(runs) as server:
        for name, value in server.client_env(tmp_path / "wandb-dir").items():
            monkeypatch.setenv(name, value)
        assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and "--metric 'typo': no trial's history has that metric" in err
    default_curves = [
        v["name"]
        for op, v in server.requests
        if op == "RunSampledHistory" and "overview/reward" in json.loads(v["specs"][0])["keys"]
    ]
    assert len(default_curves) == METRIC_CHECK_CHUNK < len(runs)
