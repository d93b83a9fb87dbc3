"""The tables and quoted messages of docs/ against the code they describe (QA pass 90).

Each test reads the doc itself, so it fails when the doc and the code drift apart, whichever
of the two moved.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
DOCS = REPO / "docs"


def _doc(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _table_rows(text: str, header: str) -> list[list[str]]:
    """The rows of the Markdown table whose header line starts with ``header``, as cells."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows


def _ticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def test_architecture_layers_are_the_import_contracts_layers():
    """docs/architecture.md: "import-linter checks this" -- the layer table lists the packages
    of each layer, top to bottom. It left out the foundation's `metrics_file` (a trial's
    metrics file, in the contract since it was added)."""
    rows = _table_rows(_doc("architecture.md"), "| layer (top to bottom)")
    documented = [{f"hwscale_tui.{p}" for p in _ticked(cells[1])} for cells in rows]
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    contract = next(
        c for c in pyproject["tool"]["importlinter"]["contracts"] if c["type"] == "layers"
    )
    layers = [{m.strip() for m in layer.split(":")} for layer in contract["layers"]]
    assert documented == layers


def test_architecture_names_every_test_support_module():
    """docs/architecture.md, "Test support is not product", lists what tests/support/ holds; it
    did not name `seed` and `launches`, which many tests use."""
    text = " ".join(_doc("architecture.md").split())
    section = text.split("## Test support is not product")[1].split("##")[0]
    modules = {p.stem for p in (REPO / "tests" / "support").glob("*.py")} - {"__init__"}
    missing = sorted(m for m in modules if f"`{m}`" not in section)
    assert not missing, missing


def test_source_settings_line_has_every_default():
    """docs/sources.md ends its Python API with the `SourceSettings(...)` defaults; it left out
    `local_full_read_s=60` (how often a local poll reads every row)."""
    from hwscale_tui.sources import SourceSettings

    text = " ".join(_doc("sources.md").split())
    line = re.search(r"`SourceSettings\(([^)]*)\)`", text)
    assert line, "no SourceSettings(...) line"
    documented = dict(kv.strip().split("=") for kv in line.group(1).split(","))
    fields = {f.name: f.default for f in dataclasses.fields(SourceSettings)}
    assert set(documented) == set(fields)
    for name, value in documented.items():
        assert float(value) == float(fields[name]), name  # type: ignore[arg-type]


def test_optimizer_preset_table_is_the_preset():
    """docs/optimizer.md: the table of the built-in preset's settings and their values."""
    from hwscale_tui.config import RUNNER_DEFAULTS
    from hwscale_tui.search.presets import LR_BATCH_EXPONENT, PROTEIN_SETTINGS

    preset = {**PROTEIN_SETTINGS, "lr_batch_exponent": LR_BATCH_EXPONENT}
    rows = _table_rows(_doc("optimizer.md"), "| setting | preset |")
    seen = set()
    for cells in rows:
        name = _ticked(cells[0])[0]
        values = [tomllib.loads(f"v = {v}")["v"] for v in _ticked(cells[1])]
        seen.add(name)
        if name == "max_suggestion_cost":  # one per runner
            assert values == [
                RUNNER_DEFAULTS[r]["sweep.max_suggestion_cost"] for r in ("builtin", "metta")
            ]
        else:
            assert values == [preset[name]], name
    assert seen == set(preset)


def test_slurm_keys_table_is_the_slurm_section():
    """docs/slurm.md, "The [slurm] keys": every key of `[slurm]` and its default."""
    from hwscale_tui.config import SlurmSection

    rows = _table_rows(_doc("slurm.md"), "| key | default | meaning |")
    documented = {_ticked(cells[0])[0]: cells[1] for cells in rows}
    section = SlurmSection()
    assert set(documented) == {f.name for f in dataclasses.fields(SlurmSection)}
    for name, shown in documented.items():
        value = getattr(section, name)
        if value is None:
            assert shown in ("none", "cluster default"), name
        elif isinstance(value, list):
            assert shown == "[]" and value == [], name
        else:
            assert float(shown) == float(value), name


def test_price_table_is_the_prices_module():
    """docs/prices.md: every row of the default price table (GPU, spot, $/GPU-h) and the CPU
    rank prices, as hwscale_tui/prices.py has them, and the table's date."""
    from hwscale_tui.prices import PRICE_TABLE, PRICES_AS_OF

    text = _doc("prices.md")
    assert f'`PRICES_AS_OF = "{PRICES_AS_OF}"`' in text
    documented = {}
    for header in ("| GPU | spot | $/GPU-h |", "  | type | spot | $/rank-h |"):
        for cells in _table_rows(text.replace("\n  |", "\n|"), header.strip()):
            gpu = cells[0].split()[0].upper()
            documented[(gpu, cells[1] == "yes")] = float(cells[2])
    assert documented == {key: price for key, (price, _) in PRICE_TABLE.items()}


def test_archive_lines_are_the_ones_experiments_md_quotes(tmp_path, capsys):
    """docs/experiments.md quotes what `experiments archive` prints (`archived demo`, then on
    stderr the command that undoes it) and says archiving an archived one "says so and changes
    nothing"."""
    from hwscale_tui.cli import main

    text = " ".join(_doc("experiments.md").split())
    undo = re.search(r"\(stderr: `([^`]+)`", text)
    assert undo, "experiments.md no longer quotes the archive's stderr line"
    assert main(["plan", "--new-experiment", "demo", "--save", str(tmp_path / "d.toml")]) == 0
    assert main(["experiments", "select", "hardware_scaling"]) == 0
    capsys.readouterr()
    assert main(["experiments", "archive", "demo"]) == 0
    out = capsys.readouterr()
    assert "archived demo" in out.out.splitlines(), out.out
    assert undo.group(1) in out.err, out.err
    assert main(["experiments", "archive", "demo"]) == 0
    again = capsys.readouterr()
    assert "archived already" in again.out + again.err and "nothing changed" in again.out, again


def test_status_json_has_the_keys_launch_md_lists(tmp_path, capsys):
    """docs/launch.md, `status --json`: the per-pair and top-level keys it lists are the ones
    printed. It listed `slurm_jobs` as always there; it is there only when Slurm pairs have
    trials in flight."""
    import json

    from hwscale_tui import config as cfgmod
    from hwscale_tui.cli import main
    from hwscale_tui.paths import ensure_private_dir, snapshot_path
    from hwscale_tui.store import Store
    from tests.support.launches import dead_pid, recorded_launch

    cfg = cfgmod.from_dict(
        {"experiment": {"name": "loc"}, "grid": {"gpu_counts": [1], "node_counts": [1]}},
        source="test",
    )
    snap = snapshot_path("loc")
    ensure_private_dir(snap.parent)
    cfgmod.save(cfg, snap)
    gone, _ = dead_pid()
    with Store.open_default() as store:
        recorded_launch(store, "loc", ["loc.g1n1"], snap, running_pid=gone)
    capsys.readouterr()
    assert main(["status", "--experiment-name", "loc", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)

    text = " ".join(_doc("launch.md").split())
    row = text.split("| `--json` | everything as JSON; per pair ")[1].split(" | ")[0]
    per_pair, top = row.split("; at the top ", 1)
    pair_keys = set(_ticked(per_pair))
    assert (
        "`slurm_jobs` (Slurm pairs' trials in flight, docs/slurm.md; only when there are any)"
        in (top)
    )
    top = top.split("; times are epoch seconds")[0]
    while "(" in top:  # what the parentheses say about a key is not a key
        top = re.sub(r"\([^()]*\)", "", top)
    # `supervisor_alive`/`_state`/`_pid`/`_log` is four keys
    assert "`supervisor_alive`/`_state`/`_pid`/`_log`" in top
    top_keys = {k for k in _ticked(top) if not k.startswith("_")}
    top_keys |= {"supervisor_state", "supervisor_pid", "supervisor_log"}
    assert pair_keys == set(got["pairs"][0]), pair_keys ^ set(got["pairs"][0])
    assert top_keys - {"slurm_jobs"} == set(got) - {"pairs"}, top_keys ^ set(got)
    assert "slurm_jobs" not in got  # no Slurm pair


def _quote(doc: str, start: str) -> str:
    """The backticked quote of ``doc`` that begins with ``start`` (line breaks as spaces)."""
    text = " ".join(_doc(doc).split())
    found = re.search(r"`(" + re.escape(start) + r"[^`]*)`", text)
    assert found, f"{doc} no longer quotes {start!r}"
    return found.group(1)


def test_a_folder_where_the_store_goes_is_said_as_launch_md_quotes(capsys):
    """docs/launch.md, "When things go wrong": a folder where the store file should be makes
    every command say so in one sentence (`it is a folder, not the store file; move that folder
    away`), exit 1."""
    from hwscale_tui.cli import main
    from hwscale_tui.paths import app_paths

    quoted = _quote("launch.md", "it is a folder, not the store file")
    app_paths().store.mkdir(parents=True)
    for command in (["status"], ["trials"]):
        assert main(command) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and quoted in err, err


def test_a_launch_command_this_machine_cannot_run_is_refused_as_launch_md_quotes(tmp_path, capsys):
    """docs/launch.md, "The command each pair runs": `launch` refuses a `[launch] command`
    whose program this machine cannot run, exit 2, before anything starts, in the sentence
    the doc quotes."""
    from hwscale_tui.cli import main
    from tests.support.cli import launched_nothing

    quoted = _quote("launch.md", "launch.command[0] 'sweepx'").split("...")[0]
    exp = tmp_path / "exp.toml"
    exp.write_text(
        '[experiment]\nname = "own"\n[grid]\ngpu_counts = [1]\nnode_counts = [1]\n'
        '[launch]\ncommand = ["sweepx", "{sweep_name}"]\n'
    )
    assert main(["launch", "-e", str(exp)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert quoted in err, err
    assert launched_nothing(exp)


def test_plan_check_on_another_dispatcher_is_refused_as_slurm_md_says(capsys):
    """docs/slurm.md: "`--check` on another dispatcher is refused (exit 2)"."""
    from hwscale_tui.cli import main

    assert "`--check` on another dispatcher is refused (exit 2)" in " ".join(
        _doc("slurm.md").split()
    )
    assert main(["plan", "--check"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hwscale-tui: error: ") and err.count("\n") == 1, err


def test_analysis_md_scenarios_and_report_figures_are_the_code():
    """docs/analysis.md: the figure-of-merit scenarios' weights over sample / time / cost and
    the five PNGs of the Markdown report."""
    from hwscale_tui.analysis.format import PLOT_FILES
    from hwscale_tui.analysis.settings import DEFAULT_SCENARIOS

    text = " ".join(_doc("analysis.md").split())
    weights = dict(re.findall(r"(research|development|budget|balanced) (\.\d+/\.\d+/\.\d+)", text))
    assert set(weights) == set(DEFAULT_SCENARIOS)
    for name, shown in weights.items():
        assert [float(w) for w in shown.split("/")] == [
            DEFAULT_SCENARIOS[name][k] for k in ("sample", "time", "cost")
        ], name
    report = text.split("## The Markdown report")[1].split("##")[0]
    assert "plus five PNGs" in report and len(PLOT_FILES) == 5
    assert set(re.findall(r"`([a-z_]+\.png)`", report)) == set(PLOT_FILES)


def test_experiments_json_has_the_keys_experiments_md_lists(capsys):
    """docs/experiments.md: `experiments --json` prints a list of objects with the keys it
    names, no more and no fewer."""
    import json

    from hwscale_tui.cli import main

    text = " ".join(_doc("experiments.md").split())
    listed = text.split("`--json` prints the same as a list of objects (")[1].split("; `--all`")[0]
    keys = set(_ticked(listed))
    assert main(["experiments", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(set(row) == keys for row in rows), (keys, rows)


def test_every_experiments_action_a_doc_names_is_one_the_cli_takes():
    """docs/sources.md said trials deleted with `hwscale-tui experiments rm`, an action the CLI
    refuses ("invalid choice: 'rm'"); it is `experiments delete NAME --yes`. Every
    `hwscale-tui experiments <action>` these docs name is one `experiments --help` lists."""
    from hwscale_tui.commands.experiments import ACTIONS

    for name in ("sources.md", "experiments.md", "launch.md", "analysis.md", "slurm.md"):
        text = " ".join(_doc(name).split())
        for action in re.findall(r"hwscale-tui experiments ([a-z]+)", text):
            assert action in ACTIONS, (name, action)


OWN_DOCS = (
    "architecture.md",
    "analysis.md",
    "dependencies.md",
    "experiment.md",
    "experiments.md",
    "launch.md",
    "optimizer.md",
    "prices.md",
    "slurm.md",
    "sources.md",
)


def test_every_flag_a_doc_gives_a_command_is_one_it_takes():
    """Every option these docs write after a command in backticks (`hwscale-tui launch
    --resume`, `status --watch`, `analyze --trials FILE.csv`) is one that command's parser
    takes, so a renamed or removed flag shows up here rather than as "unrecognized arguments"
    for a reader who pasted it."""
    import argparse

    from hwscale_tui.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    flags = {
        name: {o for a in parser._actions for o in a.option_strings}
        for name, parser in sub.choices.items()
        if name != "metta"  # its flags belong to its own subcommands
    }
    pattern = re.compile(r"`(?:hwscale-tui )?(" + "|".join(flags) + r")((?: [^`]*)?)`")
    unknown = []
    checked = 0
    for name in OWN_DOCS:
        text = " ".join(_doc(name).split())
        for found in pattern.finditer(text):
            command, rest = found.groups()
            for flag in re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", rest):
                checked += 1
                if flag not in flags[command]:
                    unknown.append((name, command, flag))
    assert checked > 50 and not unknown, unknown


def test_every_experiment_key_a_doc_names_is_one_the_file_takes():
    """Every setting these docs name as `section.key` or `[section] key` (`sweep.transfer`,
    `[slurm] poll_s`) is a key of that section of the experiment file (hwscale_tui/config.py),
    so a renamed key shows up here rather than as "unknown key" for a reader who wrote it."""
    from hwscale_tui import config as cfgmod

    keys = {s: {f.name for f in dataclasses.fields(t)} for s, t in cfgmod.SECTIONS.items()}
    not_keys = {("slurm", "conf"), ("wandb", "init")}  # slurm.conf, wandb.init(...)
    sections = "|".join(keys)
    pattern = re.compile(rf"`(?:\[({sections})\] ([a-z_]+)|({sections})\.([a-z_]+))")
    unknown = []
    checked = 0
    for name in OWN_DOCS:
        text = " ".join(_doc(name).split())
        for found in pattern.finditer(text):
            section = found.group(1) or found.group(3)
            key = found.group(2) or found.group(4)
            if (section, key) in not_keys:
                continue
            checked += 1
            if key not in keys[section]:
                unknown.append((name, f"{section}.{key}"))
    assert checked > 50 and not unknown, unknown


def test_every_hwscale_variable_the_package_reads_is_documented():
    """Each `HWSCALE_*` environment variable hwscale_tui reads is named in docs/ or the README
    (`HWSCALE_USABLE_CORES`, which sets the usable cores local mode plans with, was in none),
    and each one the owned docs name is read by the package or the test and CI scripts."""
    read: set[str] = set()
    for path in (REPO / "hwscale_tui").rglob("*.py"):
        read |= set(re.findall(r"\"(HWSCALE_[A-Z_]+)\"", path.read_text(encoding="utf-8")))
    documented = " ".join(
        p.read_text(encoding="utf-8") for p in [REPO / "README.md", *DOCS.glob("*.md")]
    )
    assert read and not {v for v in read if v not in documented}
    elsewhere = " ".join(
        p.read_text(encoding="utf-8")
        for folder in ("hwscale_tui", "tests", "scripts", ".ci")
        for p in (REPO / folder).rglob("*")
        if p.is_file() and p.suffix in (".py", ".sh", "") and p != Path(__file__)
    )
    for name in OWN_DOCS:
        for variable in set(re.findall(r"HWSCALE_[A-Z_]+", _doc(name))):
            assert variable in elsewhere, (name, variable)


def test_every_repository_path_a_doc_names_exists():
    """Every file or folder of the repository the owned docs point to (`hwscale_tui/...`,
    `tests/...`, `benchmarks/...`, `scripts/...`) is there."""
    pattern = re.compile(
        r"(?<![\w/.])((?:hwscale_tui|tests|benchmarks|scripts|requirements)/[\w./-]*\w)"
    )
    missing = []
    checked = 0
    for name in OWN_DOCS:
        for path in set(pattern.findall(_doc(name))):
            checked += 1
            if not (REPO / path).exists():
                missing.append((name, path))
    assert checked > 30 and not missing, missing


def test_a_history_point_beyond_2_to_the_53_is_left_out_as_analysis_md_says(tmp_path, capsys):
    """docs/analysis.md, CSV input: a history point whose score lies beyond ±2**53 (`1e300`)
    is left out of its curve (the analysis drops such points since 61267c3; the doc named only
    `nan`). The analysis with it is the analysis without it."""
    import json

    from hwscale_tui.cli import main

    assert "a point whose agent step or score lies beyond ±2**53" in " ".join(
        _doc("analysis.md").split()
    )
    trials = tmp_path / "t.csv"
    trials.write_text("run_id,gpus,nodes,score\na,1,1,5\nb,2,1,4\n")
    rows = ["a,10,1,5", "a,30,3,6", "b,10,1,3", "b,30,2,4"]
    targets = []
    for extra in ([], ["a,20,2,1e300"]):
        history = tmp_path / "h.csv"
        history.write_text("run_id,agent_step,wall_s,score\n" + "\n".join(rows + extra) + "\n")
        args = ["analyze", "--trials", str(trials), "--history", str(history)]
        assert main([*args, "--bootstrap", "0", "--json"]) == 0
        targets.append(json.loads(capsys.readouterr().out)["target"])
    assert targets[0] == targets[1], targets


def test_doctor_json_has_the_shape_launch_md_gives(capsys):
    """docs/launch.md: `doctor --json` prints `{"healthy": ..., "findings": [{"check", "ok",
    "detail", "fixed", "repairable"}]}`."""
    import json

    from hwscale_tui.cli import main

    text = " ".join(_doc("launch.md").split())
    shape = re.search(r'`\{"healthy": \.\.\., "findings": \[\{([^}]*)\}\]\}`', text)
    assert shape, "launch.md no longer gives doctor --json's shape"
    keys = set(re.findall(r'"(\w+)"', shape.group(1)))
    assert main(["doctor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"healthy", "findings"} and report["findings"]
    assert all(set(f) == keys for f in report["findings"]), (keys, report["findings"][0])


def test_trials_json_and_the_record_are_what_sources_md_lists(capsys):
    """docs/sources.md: `trials --json` prints `{experiment, generation, newest_generation,
    source, sweeps, fetched_at, requests, flagged, trials: [...]}`, and "The record" lists the
    Trial record's fields."""
    import json

    from hwscale_tui.cli import main
    from hwscale_tui.records import Trial

    text = " ".join(_doc("sources.md").split())
    shape = re.search(r"\| `--json` \| `\{([^}]*)\}`", text)
    assert shape, "sources.md no longer gives trials --json's shape"
    keys = {k.split(":")[0].strip() for k in shape.group(1).split(",")}
    assert main(["trials", "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == keys

    record = text.split("## The record ")[1]
    fields = re.match(r"`([^`]*)`", record)
    assert fields, "sources.md's record section no longer starts with the field list"
    documented = [f.strip() for f in fields.group(1).split(",")]
    assert documented == [f.name for f in dataclasses.fields(Trial)]
