"""Property-based fuzzing (Hypothesis) of the experiment file and of every subcommand's
arguments, in-process: whatever the input, the CLI answers with exit 0/1/2 and never a
traceback, and every refusal (exit 2) is exactly one line on stderr. Nothing is launched:
where a command would start something (supervisor, sweep, trainer, app, watch loop), a guard
raises ``WouldRun`` instead, which counts as "accepted"."""

from __future__ import annotations

import argparse
import io
from contextlib import redirect_stderr, redirect_stdout

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hwscale_tui import config as cfgmod
from hwscale_tui.cli import COMMANDS, build_parser, main
from tests.reliability.reliability_helpers import WouldRun, nothing_starts  # noqa: F401 (autouse fixture)

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def guards(monkeypatch):
    """Replace every place a command would start something with ``WouldRun``."""
    from hwscale_tui.commands import status as status_cmd
    from hwscale_tui.commands import sweep as sweep_cmd
    from hwscale_tui.launch import supervisor
    from hwscale_tui.train import runner as train_runner

    def would(*_a, **_k):
        raise WouldRun

    monkeypatch.setattr(supervisor, "launch", would)
    monkeypatch.setattr(sweep_cmd, "run_sweep", would)
    monkeypatch.setattr(train_runner, "run_training", would)
    monkeypatch.setattr(status_cmd, "_watch", would)
    import hwscale_tui.tui.app as tui_app

    monkeypatch.setattr(tui_app, "create_app", would)


def _run_cli(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(argv)
        except WouldRun:
            code = 0
        except SystemExit as e:  # argparse (--help, bad flags)
            code = int(e.code or 0)
    return code, err.getvalue()


def _check(argv: list[str]) -> None:
    code, err = _run_cli(argv)
    assert code in (0, 1, 2), (argv, code, err)
    assert "Traceback" not in err, (argv, err)
    if code == 2:
        lines = err.splitlines()
        assert len(lines) == 1 and "error:" in lines[0], (argv, err)


# -- the experiment file ----------------------------------------------------------------------

SCALARS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=30),
    st.sampled_from(["builtin", "metta", "local", "skypilot", "online", "{", "{gpus}", "a" * 300]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _section_strategy(name: str) -> st.SearchStrategy:
    keys = list(cfgmod.field_specs(name)) + ["nope"]
    return st.dictionaries(st.sampled_from(keys), VALUES, max_size=4)


EXPERIMENT = st.lists(
    st.sampled_from([*cfgmod.SECTIONS, "bogus"]), unique=True, max_size=4
).flatmap(
    lambda names: st.fixed_dictionaries(
        {n: _section_strategy(n if n in cfgmod.SECTIONS else "experiment") for n in names}
    )
)  # real keys of each section (so values reach every check), plus unknown ones


@FUZZ
@given(data=EXPERIMENT)
def test_fuzzed_experiment_file_never_tracebacks(tmp_path_factory, guards, data):
    path = tmp_path_factory.mktemp("fuzz") / "exp.toml"
    try:
        path.write_text(tomli_w.dumps(data))
    except (TypeError, ValueError):  # not representable in TOML (mixed arrays etc.)
        path.write_text(repr(data))  # then it is simply bad TOML
    for cmd in ("plan", "launch", "trials", "analyze"):
        _check([cmd, "-e", str(path)])


@FUZZ
@given(text=st.text(max_size=200))
def test_fuzzed_file_text_never_tracebacks(tmp_path_factory, guards, text):
    path = tmp_path_factory.mktemp("fuzz") / "exp.toml"
    path.write_text(text, errors="surrogatepass")
    _check(["plan", "-e", str(path)])


# -- every subcommand's arguments --------------------------------------------------------------

TOKENS = st.one_of(
    st.sampled_from(
        [
            "",
            "-1",
            "0",
            "1",
            "2",
            "1e308",
            "1e26",
            "inf",
            "nan",
            "-inf",
            "1e-9",
            "g1n1",
            "g4n1",
            ",",
            "x=1",
            "=1",
            "run=a",
            "trainer.batch_size=5",
            "seed=x",
            "a" * 300,
            "../x",
            "{",
            "/dev/zero",
        ]
    ),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats().map(repr),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        max_size=12,
    ),
)


def _flags(command: str) -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return [
        opt
        for action in sub.choices[command]._actions
        for opt in action.option_strings
        if opt not in ("-h", "--help", "--experiment", "-e")  # -e: fuzzed as a file above
    ]


@pytest.mark.parametrize("command", [c for c in COMMANDS])
def test_fuzzed_arguments_never_traceback(command, guards, tmp_path_factory):
    flags = _flags(command) or ["--help"]  # a command of subcommands only (metta)
    required = ["--gpus", "1", "--nodes", "1"] if command == "sweep" else []

    @FUZZ
    @given(
        st.lists(
            st.one_of(
                st.sampled_from(flags).flatmap(lambda f: st.tuples(st.just(f), TOKENS)),
                TOKENS.map(lambda t: (t,)),
            ),
            max_size=4,
        )
    )
    def check(parts):
        argv = [command, *required, *(tok for part in parts for tok in part)]
        _check(argv)

    check()
