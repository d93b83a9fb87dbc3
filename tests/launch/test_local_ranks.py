"""Local mode says what it measures: CPU ranks on this machine's usable cores.

The usable-core count is injected with HWSCALE_USABLE_CORES (tests/conftest.py sets 16)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.hardware import local_default_grid, usable_cores
from hwscale_tui.store import Store
from tests.support.cli import cli_env, hwscale_cmd


def test_usable_cores_reads_the_affinity_unless_injected(monkeypatch):
    monkeypatch.delenv("HWSCALE_USABLE_CORES")
    assert usable_cores() == len(os.sched_getaffinity(0))
    assert usable_cores({"HWSCALE_USABLE_CORES": "3"}) == 3
    assert usable_cores({"HWSCALE_USABLE_CORES": "zero"}) == len(os.sched_getaffinity(0))


@pytest.mark.parametrize(
    ("cores", "pairs"),
    [
        (1, ["g1n1"]),
        (2, ["g1n1", "g2n1"]),
        (4, ["g1n1", "g1n2", "g2n1", "g2n2", "g4n1"]),
        (16, ["g1n1", "g1n2", "g2n1", "g2n2", "g4n1", "g4n2", "g8n1", "g8n2"]),
    ],
)
def test_the_default_local_grid_fits_the_usable_cores(monkeypatch, cores, pairs):
    monkeypatch.setenv("HWSCALE_USABLE_CORES", str(cores))
    from hwscale_tui.hardware import plan_grid

    cfg = cfgmod.default_config(env={})
    got, _ = plan_grid(
        cfg.grid.gpu_counts, cfg.grid.node_counts, cfg.grid.max_gpus_per_node, cfg.grid.exclude
    )
    assert sorted(p.tag for p in got) == pairs
    assert all(p.total_gpus <= cores for p in got)
    g, n, _ = local_default_grid(cores)
    assert max(g) * min(n) <= cores


def test_clusters_keep_the_gpu_grid_and_price(monkeypatch):
    monkeypatch.setenv("HWSCALE_USABLE_CORES", "2")
    cfg = cfgmod.from_dict(
        {"experiment": {"dispatcher": "skypilot"}, "wandb": {"mode": "online"}}, env={}
    )
    assert cfg.grid.gpu_counts == [1, 2, 4, 8] and not cfg.local_ranks
    assert cfg.price_label == "$6.88/GPU-hour (H100)"


def test_local_price_is_hypothetical_unless_priced_as_cpu(monkeypatch):
    cfg = cfgmod.default_config(env={})
    assert cfg.local_ranks and cfg.price_label.startswith("HYPOTHETICAL $6.88/rank-hour")
    assert "as if each CPU rank were one H100 " in cfg.price_label  # "one", never "a H100"
    cpu = cfgmod.from_dict({"cost": {"gpu_type": "vCPU"}}, env={})
    assert cpu.price_per_gpu_hour == pytest.approx(0.0425)
    assert cpu.price_label == "$0.0425/rank-hour: one cloud vCPU on demand (docs/prices.md)"
    # the spot price, or the user's own, is not "on demand" (both were labelled so)
    spot = cfgmod.from_dict({"cost": {"gpu_type": "vCPU", "spot": True}}, env={})
    assert spot.price_label == "$0.0213/rank-hour: one cloud vCPU spot (docs/prices.md)"
    own = cfgmod.from_dict({"cost": {"gpu_type": "vCPU", "price_per_gpu_hour": 0.1}}, env={})
    assert own.price_label == (
        "$0.1/rank-hour: each rank priced as one vCPU (cost.price_per_gpu_hour)"
    )


def test_a_spot_price_from_the_table_says_spot_on_clusters_and_locally(monkeypatch):
    """The H100 spot price was labelled "H100" (locally "as if each CPU rank were one H100"),
    read as the on-demand price; a price of the user's own is not the table's spot price."""
    monkeypatch.setenv("HWSCALE_USABLE_CORES", "2")
    local = cfgmod.from_dict({"cost": {"spot": True}}, env={})
    assert local.price_per_gpu_hour < cfgmod.default_config(env={}).price_per_gpu_hour
    assert (
        f"HYPOTHETICAL ${local.price_per_gpu_hour:g}/rank-hour, as if each CPU rank were one "
        "H100 spot (" in local.price_label
    )
    cluster = cfgmod.from_dict(
        {
            "experiment": {"dispatcher": "skypilot"},
            "wandb": {"mode": "online"},
            "cost": {"spot": True},
        },
        env={},
    )
    assert cluster.price_label == f"${cluster.price_per_gpu_hour:g}/GPU-hour (H100 spot)"
    own = cfgmod.from_dict({"cost": {"spot": True, "price_per_gpu_hour": 3.0}}, env={})
    assert "one H100 (" in own.price_label and "spot" not in own.price_label


def test_a_gpu_type_missing_from_the_price_table_says_whose_price_is_used():
    nope = cfgmod.from_dict({"cost": {"gpu_type": "NOPE"}}, env={})
    assert nope.price_per_gpu_hour == pytest.approx(6.88)
    assert nope.price_label.endswith(
        '(cost.gpu_type = "vCPU" prices ranks as CPUs; the price table has no NOPE, so this is '
        "the H100 on-demand price: set cost.price_per_gpu_hour)"
    )
    cluster = cfgmod.from_dict(
        {
            "experiment": {"dispatcher": "skypilot"},
            "wandb": {"mode": "online"},
            "cost": {"gpu_type": "NOPE"},
        },
        env={},
    )
    assert "the price table has no NOPE" in cluster.price_label
    priced = cfgmod.from_dict({"cost": {"gpu_type": "NOPE", "price_per_gpu_hour": 3.0}}, env={})
    assert "price table" not in priced.price_label  # the file's own price: nothing to say
    assert "price table" not in cfgmod.default_config(env={}).price_label  # H100 is in it


def test_an_added_oversubscribed_pair_is_kept_and_flagged_in_plan(monkeypatch, tmp_path):
    monkeypatch.setenv("HWSCALE_USABLE_CORES", "2")
    res = subprocess.run(
        hwscale_cmd("plan", "--json", "--gpu-counts", "1", "2", "4"),
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    plan = json.loads(res.stdout)
    pairs = {p["sweep_name"].rsplit(".", 1)[-1]: p for p in plan["pairs"]}
    assert sorted(pairs) == ["g1n1", "g2n1", "g4n1"]  # nodes stay the local default [1]
    assert any(
        "OVERSUBSCRIBED: 4 CPU ranks on 2 usable cores" in w for w in pairs["g4n1"]["warnings"]
    )
    assert not any("OVERSUBSCRIBED" in w for w in pairs["g2n1"]["warnings"])


@pytest.mark.parametrize(
    ("args", "said"),
    [
        ((), None),  # the default local grid on 2 cores: g1n1 and g2n1, one after another
        (  # the same pairs staggered 60 s on request
            ("--delay", "60"),
            "local mode: pairs started 60 s apart run at once when a sweep lasts longer: up to 3 "
            "CPU ranks together on 2 usable cores",
        ),
        (
            ("--gpu-counts", "2", "--max-parallel-jobs", "2"),
            "local mode: 2 trials of a sweep run at once: up to 4 CPU ranks together",
        ),
        (("--sequential",), None),  # one pair at a time, one trial at a time: nothing shared
        (("--sequential", "--max-parallel-jobs", "2"), "local mode: 2 trials of a sweep run"),
        (("--gpu-counts", "1", "--node-counts", "1"), None),  # one pair, one rank
        (
            ("--dispatcher", "slurm", "--node-counts", "1"),
            None,
        ),  # a cluster's GPUs: not this machine's cores
    ],
)
def test_plan_says_when_pairs_running_at_once_share_the_cores(monkeypatch, args, said):
    """Each pair's own ranks were checked against the cores, not pairs started 60 s apart that
    run together (analyze measured g1n1 at 3.9k steps/s beside g2n1 and g4n1, 16k alone)."""
    monkeypatch.setenv("HWSCALE_USABLE_CORES", "2")
    res = subprocess.run(
        hwscale_cmd("plan", "--json", *args),
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    shared = [w for w in json.loads(res.stdout)["warnings"] if "usable cores" in w]
    if said is None:
        assert shared == [], shared
    else:
        assert len(shared) == 1 and shared[0].startswith(said), shared
        assert shared[0].endswith("measures each alone"), shared
        # run one after another already, or a single pair: no --sequential advised
        assert ("launch --sequential" in shared[0]) == ("--delay" in args), shared
        assert ("max_parallel_jobs = 1" in shared[0]) == ("--max-parallel-jobs" in args), shared


def _seed_store(name: str, pairs: list[tuple[int, int]]) -> None:
    with Store.open_default() as st:
        for g, n in pairs:
            sweep = f"{name}.g{g}n{n}"
            for i in range(3):
                run_id = f"{sweep}_trial_{i + 1:04d}"
                speed = 1000.0 * g * n * (1 + 0.1 * i)
                st.insert_trial(
                    run_id,
                    sweep,
                    experiment=name,
                    idx=i + 1,
                    gpus=g,
                    nodes=n,
                    state="finished",
                    score=100.0 + i,
                    runtime_s=20000 / speed,
                    agent_steps=20000,
                    cost_usd=0.01,
                )
                st.append_history(
                    run_id,
                    [
                        {"agent_step": s, "wall_s": s / speed, "score": 100.0 * s / 20000}
                        for s in range(2000, 20001, 2000)
                    ],
                )


def _analyze(exp, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        hwscale_cmd("analyze", "-e", str(exp), "--bootstrap", "0", *extra),
        env=cli_env(HWSCALE_USABLE_CORES="2"),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_analysis_leaves_oversubscribed_pairs_out_unless_asked_and_says_why(tmp_path):
    exp = tmp_path / "loc.toml"
    cfg = cfgmod.from_dict(
        {"experiment": {"name": "loc"}, "grid": {"gpu_counts": [1, 2, 4], "node_counts": [1]}},
        env={},
    )
    cfgmod.save(cfg, exp)
    _seed_store("loc", [(1, 1), (2, 1), (4, 1)])

    res = _analyze(exp, "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    configs = [row["config"] for row in out["per_config"]]
    assert configs == ["g1n1", "g2n1"]
    notes = " ".join(out["notes"])
    assert "the pairs count CPU ranks, not GPUs" in notes and "HYPOTHETICAL" in notes
    assert "g4n1 left out: more CPU ranks than the 2 usable cores" in notes
    assert "Only 2 sizes (1 and 2 ranks): too few for a scaling law" in notes

    res = _analyze(exp, "--json", "--allow-oversubscribed")
    out = json.loads(res.stdout)
    assert [row["config"] for row in out["per_config"]] == ["g1n1", "g2n1", "g4n1"]
    assert "kept because --allow-oversubscribed" in " ".join(out["notes"])
    assert "too few for a scaling law" not in " ".join(out["notes"])  # 3 sizes now


def test_the_local_note_names_the_price_the_flags_put_in_force(tmp_path):
    exp = tmp_path / "loc.toml"
    cfg = cfgmod.from_dict(
        {"experiment": {"name": "loc"}, "grid": {"gpu_counts": [1, 2], "node_counts": [1]}},
        env={},
    )
    cfgmod.save(cfg, exp)
    _seed_store("loc", [(1, 1), (2, 1)])
    res = _analyze(exp, "--json", "--price-per-gpu-hour", "1", "--gpu-type", "A100")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    notes = " ".join(out["notes"])
    assert "HYPOTHETICAL $1/rank-hour, as if each CPU rank were one A100" in notes, notes
    assert "$6.88" not in notes and "H100" not in notes
    assert out["price"]["text"].startswith("HYPOTHETICAL $1/rank-hour, each CPU rank priced as")
    # the summary's cost line names the same per-rank price, not a per-GPU-hour one
    res = _analyze(exp, "--price-per-gpu-hour", "1", "--gpu-type", "A100")
    assert res.returncode == 0, res.stderr
    summary = " ".join(
        res.stdout.split("cost: logged cost where", 1)[1].split("uncertainty:")[0].split()
    )
    assert summary.startswith("a trial has it, else HYPOTHETICAL $1/rank-hour"), summary
    assert summary.endswith("x ranks x hours"), summary
    assert "GPU-hour" not in summary and "billed nodes" not in summary


def test_only_oversubscribed_pairs_is_one_sentence_exit_2(tmp_path):
    exp = tmp_path / "big.toml"
    cfg = cfgmod.from_dict(
        {"experiment": {"name": "big"}, "grid": {"gpu_counts": [4], "node_counts": [1]}}, env={}
    )
    cfgmod.save(cfg, exp)
    _seed_store("big", [(4, 1)])
    res = _analyze(exp)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert lines[-1].startswith("hwscale-tui: error: every pair with trials (g4n1)")
    assert "--allow-oversubscribed" in lines[-1]


def test_analysis_says_when_transfer_between_pairs_shaped_the_trials(tmp_path):
    exp = tmp_path / "xfer.toml"
    cfg = cfgmod.from_dict(
        {"experiment": {"name": "xfer"}, "grid": {"gpu_counts": [1, 2], "node_counts": [1]}},
        env={},
    )
    cfgmod.save(cfg, exp)
    _seed_store("xfer", [(1, 1), (2, 1)])

    res = _analyze(exp, "--json")
    assert res.returncode == 0, res.stderr
    assert "Transfer between pairs" not in " ".join(json.loads(res.stdout)["notes"])

    with Store.open_default() as st:
        # as the built-in runner records a suggestion made with other pairs' results (last_info)
        st.update_trial(
            "xfer.g1n1_trial_0002", suggestion_json=json.dumps({"transfer": {"other": 3}})
        )
        st.update_trial(
            "xfer.g2n1_trial_0003", suggestion_json=json.dumps({"transfer": {"other": 1}})
        )
        st.update_trial(  # transfer on, but nothing from other pairs yet: not counted
            "xfer.g2n1_trial_0002", suggestion_json=json.dumps({"transfer": {"other": 0}})
        )
        st.update_trial("xfer.g1n1_trial_0003", suggestion_json="{not json")
        got = {t.run_id.split(".")[1]: t.transfer_other for t in st.trials(experiment="xfer")}
        assert got == {
            "g1n1_trial_0001": None,  # no suggestion recorded
            "g1n1_trial_0002": 3,
            "g1n1_trial_0003": 0,  # unreadable, and names no transfer
            "g2n1_trial_0001": None,
            "g2n1_trial_0002": 0,
            "g2n1_trial_0003": 1,
        }

    res = _analyze(exp, "--json")
    assert res.returncode == 0, res.stderr
    notes = " ".join(json.loads(res.stdout)["notes"])
    assert (
        "Transfer between pairs: 2 of 6 trials were suggested with other pairs' results too ([sweep] transfer = true)"
        in notes
    )
    assert "Transfer between pairs: 2 of 6 trials were suggested" in res.stderr

    # exported with trials --csv (and its curves), the file's analysis says the same
    exported = {}
    for name, extra in (("t.csv", ()), ("h.csv", ("--history",))):
        out = subprocess.run(
            hwscale_cmd("trials", "-e", str(exp), "--csv", *extra),
            env=cli_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        exported[name] = tmp_path / name
        exported[name].write_text(out.stdout)
    rows = list(csv.DictReader(io.StringIO(exported["t.csv"].read_text())))
    assert sorted(r["transfer_other"] for r in rows) == ["", "", "0", "0", "1", "3"]
    res = subprocess.run(
        hwscale_cmd(
            "analyze",
            "--trials",
            str(exported["t.csv"]),
            "--history",
            str(exported["h.csv"]),
            "--bootstrap",
            "0",
            "--json",
        ),
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    notes = " ".join(json.loads(res.stdout)["notes"])
    assert (
        "Transfer between pairs: 2 of 6 trials were suggested with other pairs' results too ([sweep] transfer = true)"
        in notes
    )

    # the app's analysis screen makes the same choice and says the same
    from hwscale_tui.tui.screens.analysis import select_trials

    with Store.open_default() as st:
        trials = st.trials(experiment="xfer")
    _chosen, app_notes = select_trials(cfg, trials)
    assert any("Transfer between pairs: 2 of 6 trials were suggested" in n for n in app_notes)


@pytest.mark.parametrize(
    "pairs, said",
    [
        ([(1, 1)], "Only 1 size (1 rank): too few"),  # was "Only 1 size(s) (1 ranks)"
        ([(1, 1), (1, 1)], "Only 1 size (1 rank): too few"),
        ([(2, 1)], "Only 1 size (2 ranks): too few"),
        ([(1, 1), (2, 1)], "Only 2 sizes (1 and 2 ranks): too few"),
    ],
)
def test_too_few_sizes_note_counts_in_words(pairs, said):
    from hwscale_tui.analysis.selection import local_mode
    from tests.analysis.analysis_helpers import trial

    cfg = cfgmod.default_config()
    trials = [trial(f"r{i}", g, n, 1.0) for i, (g, n) in enumerate(pairs)]
    _, notes = local_mode(cfg, trials, allow_oversubscribed=True)
    assert any(note.startswith(said) for note in notes), notes


@pytest.mark.parametrize(
    ("cores", "args", "sequential"),
    [
        ("2", (), True),  # g1n1 + g2n1: 3 ranks on 2 cores
        ("16", (), True),  # [1, 2, 4, 8] x [1, 2]: 45 ranks on 16 cores
        ("64", (), False),  # the same 45 ranks fit 64 cores: staggered as on a cluster
        ("2", ("--delay", "5"), False),  # a stagger asked for is kept (the warning says so)
        ("2", ("--gpu-counts", "1"), False),  # one pair: nothing to run one after another
        ("2", ("--dispatcher", "slurm", "--node-counts", "1"), False),  # a cluster's GPUs
    ],
)
def test_local_pairs_that_cannot_run_together_run_one_after_another_by_default(
    monkeypatch, tmp_path, cores, args, sequential
):
    """Pairs staggered 60 s apart overlapped once a sweep outlasted the stagger, and on CPU
    ranks each pair's times then carried the others' load: a local experiment's pairs now run one
    after another unless they fit the cores together or the file sets a stagger."""
    monkeypatch.setenv("HWSCALE_USABLE_CORES", cores)
    res = subprocess.run(
        hwscale_cmd("plan", *args), env=cli_env(), capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr
    header = res.stdout.splitlines()[0]
    assert header.endswith("sequential") == sequential, header
    note = [line for line in res.stdout.splitlines() if "pairs run one after another" in line]
    assert len(note) == int(sequential), res.stdout
    if sequential:
        assert note[0].startswith("local mode: pairs run one after another (launch.sequential)")
        assert f"on {cores} usable cores" in note[0]
        assert "after previous" in res.stdout
    # saved, the file says what ran: reloaded, the pairs run the same way
    saved = tmp_path / "saved.toml"
    res = subprocess.run(
        hwscale_cmd("plan", *args, "--save", str(saved)),
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert f"sequential = {str(sequential).lower()}" in saved.read_text()


def test_a_delay_on_the_command_line_staggers_a_file_that_runs_pairs_one_after_another(tmp_path):
    """A local file saved with the default sequential = true: --delay alone used to change
    nothing (the pairs still waited for each other); now it staggers them, and with
    --sequential too they still run one after another."""
    saved = tmp_path / "exp.toml"
    res = subprocess.run(
        hwscale_cmd("plan", "--save", str(saved)), env=cli_env(), capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr
    assert "sequential = true" in saved.read_text()

    def header(*args: str) -> str:
        r = subprocess.run(
            hwscale_cmd("plan", "-e", str(saved), *args),
            env=cli_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 0, r.stderr
        return r.stdout

    assert header().splitlines()[0].endswith("delay=60s  sequential")
    staggered = header("--delay", "5")
    assert staggered.splitlines()[0].endswith("delay=5s") and "+5s" in staggered
    assert header("--delay", "5", "--sequential").splitlines()[0].endswith("sequential")
