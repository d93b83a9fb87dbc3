"""The launch, status and cancel commands as a user runs them: child processes, a real pseudo
terminal that hangs up, JSON for scripts, and bad input answered in one sentence with exit 2."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import termios
import time

import pytest

from hwscale_tui.cli import main
from hwscale_tui.launch import supervisor as sup
from hwscale_tui.launch.files import supervisor_log_path
from hwscale_tui.paths import snapshot_path
from hwscale_tui.store import Store
from tests.launch.launch_testkit import (
    WAIT_S,
    clean_processes,
    fake_command,
    records,
    statuses,
    wait_for,
    write_experiment,
)
from tests.support.cli import hwscale_cmd

pytestmark = pytest.mark.usefixtures(clean_processes.__name__)

# A login shell in miniature: run the command given, report its exit code, then idle like a
# terminal session would until it is hung up.
TERMINAL_SHELL = "import subprocess, sys, time; rc = subprocess.call(sys.argv[1:]); print('RC', rc, flush=True); time.sleep(600)"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        hwscale_cmd(*args), capture_output=True, text=True, timeout=WAIT_S, stdin=subprocess.DEVNULL
    )


def _make_controlling_tty() -> None:  # runs in the child between fork and exec
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    # a terminal's shell starts with the hangup as the kernel sends it: not ignored or blocked
    # as this worker process may have it (an in-process command of an earlier test)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGHUP})


def _read_until(fd: int, marker: bytes, timeout: float = WAIT_S) -> bytes:
    """Terminal output up to and including the first line that contains ``marker``."""
    out, deadline = b"", time.monotonic() + timeout
    while marker not in out or b"\n" not in out[out.index(marker) :]:
        assert time.monotonic() < deadline, f"no {marker!r} in terminal output: {out[-2000:]!r}"
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                out += os.read(fd, 65536)
            except OSError:
                break
    return out


def _wait_reading(proc: subprocess.Popen, fd: int, timeout: float = WAIT_S) -> int:
    """The exit code, reading the terminal meanwhile: a watch that redraws into a terminal
    nobody reads blocks once its buffer is full, and never gets to its exit (seen on a loaded
    machine)."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        assert time.monotonic() < deadline, "the watch did not exit"
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            with contextlib.suppress(OSError):
                os.read(fd, 65536)
    return proc.returncode


def test_the_supervisor_survives_the_terminal_that_launched_it(tmp_path):
    rec = tmp_path / "starts.jsonl"
    exp = tmp_path / "e.toml"
    write_experiment(exp, fake_command(record=rec), delay_s=2.0)  # starts at +1, +3, +5 s
    master, slave = pty.openpty()
    terminal = subprocess.Popen(
        [sys.executable, "-c", TERMINAL_SHELL, *hwscale_cmd("launch", "-e", str(exp))],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        preexec_fn=_make_controlling_tty,  # noqa: PLW1509 -- single-threaded test process
    )
    os.close(slave)
    try:
        out = _read_until(master, b"RC ")
        assert b"RC 0" in out and b"launched exp" in out
    finally:
        os.close(master)  # the terminal window closes: the kernel hangs up its session
    assert terminal.wait(timeout=WAIT_S) == -signal.SIGHUP
    st = sup.pair_status("exp")
    assert (
        st.supervisor_alive and os.getsid(st.supervisor_pid) == st.supervisor_pid != terminal.pid
    )  # its own session, not the terminal's
    assert any(
        p.started_at is None for p in st.pairs
    )  # some pairs were still to start when it hung up

    wait_for(lambda: len(records(rec)) == 3, "every pair to start after the hang-up")
    wait_for(lambda: not sup.pair_status("exp").supervisor_alive, "the supervisor to finish")
    for p in sup.pair_status("exp").pairs:
        assert p.status == "exited" and p.exit_code == 0 and p.started_at >= p.planned_start


def test_launch_status_cancel_from_fresh_sessions(tmp_path):
    exp = tmp_path / "e.toml"
    write_experiment(exp, fake_command("--sleep", "600"), gpus=(1, 2, 4), delay_s=60)
    r = cli("launch", "-e", str(exp))
    assert r.returncode == 0, r.stderr
    assert (
        "launched exp (launch 1 of this experiment): 3 pairs" in r.stdout
        and "supervisor log:" in r.stdout
    )
    wait_for(lambda: statuses().get("g1n1") == "running", "g1n1 to run")

    r = cli("status", "--json")  # no experiment named: the one launched last
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["experiment"] == "exp" and data["supervisor_alive"] is True
    g1, g2, _ = data["pairs"]
    for key in (
        "sweep_name",
        "gpus",
        "nodes",
        "status",
        "pid",
        "planned_start",
        "started_at",
        "ended_at",
        "exit_code",
    ):
        assert key in g1
    assert (g1["sweep_name"], g1["status"], g2["status"]) == ("exp.g1n1", "running", "scheduled")
    assert isinstance(g1["started_at"], float) and g2["planned_start"] - g1[
        "planned_start"
    ] == pytest.approx(60)

    table = cli("status").stdout
    assert "supervisor running" in table and "g2n1" in table and "scheduled" in table
    assert re.search(r"g2n1 .* scheduled .* in (\d+s|1m00s)", table)  # the countdown

    r = cli("launch", "-e", str(exp))
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert r.stderr.startswith("hwscale-tui: error: experiment exp is already running")

    r = cli("cancel", ",")  # names no pair once split at the comma: never "every pair"
    assert r.returncode == 2 and "name the pairs to cancel" in r.stderr
    r = cli("cancel", "g2n1,g4n1")  # several pairs in one word, as launch --only takes them
    assert r.returncode == 0, r.stderr
    for tag in ("g2n1", "g4n1"):
        assert f"cancelled {tag} (was scheduled): will not start" in r.stdout
    r = cli("cancel", "--all", "--grace", "2", "--json")
    assert r.returncode == 0, r.stderr
    done = {p["sweep_name"]: p for p in json.loads(r.stdout)["pairs"]}
    assert done["exp.g1n1"]["cancelled"] and done["exp.g1n1"]["previous_status"] == "running"
    assert not done["exp.g2n1"]["cancelled"] and not done["exp.g4n1"]["cancelled"]
    wait_for(lambda: not sup.pair_status("exp").supervisor_alive, "the supervisor to finish")
    final = json.loads(cli("status", "--json", "--experiment-name", "exp").stdout)
    assert [p["status"] for p in final["pairs"]] == ["cancelled"] * 3
    assert all(p["cancelled_by"].endswith("(cli)") for p in final["pairs"])


def test_launch_in_the_foreground_waits_and_reports_for_scripts(tmp_path):
    exp = tmp_path / "e.toml"
    write_experiment(
        exp, fake_command("--exit", "{nodes}", "--say", "pair {gpus}"), gpus=(1,), delay_s=0.2
    )
    exp2 = tmp_path / "e2.toml"
    write_experiment(
        exp2, fake_command("--say", "pair {gpus}"), gpus=(1, 2), delay_s=0.2, name="ok"
    )
    r = cli("launch", "-e", str(exp), "--foreground", "--json")
    assert r.returncode == 1, r.stderr  # a pair exited 1
    out = json.loads(r.stdout)
    assert out["foreground"] and out["supervisor_log"] is None
    assert [(p["status"], p["exit_code"]) for p in out["final_status"]["pairs"]] == [("exited", 1)]
    assert "exp.g1n1 ended with exit code 1" in r.stderr  # progress on stderr
    r = cli("launch", "-e", str(exp2), "--foreground")
    assert r.returncode == 0, r.stderr
    assert (
        "launched ok (launch 1 of this experiment): 2 pairs" in r.stdout and "exited 0" in r.stdout
    )


def test_the_foreground_launchs_last_table_reads_as_status_does(tmp_path):
    """launch --foreground ended with the status table, but without its estimates: every
    pair's ETA and cost read '-' where `hwscale-tui status` gives them."""
    exp = tmp_path / "e.toml"
    write_experiment(exp, fake_command("--trials", "2"), gpus=(1, 2), delay_s=0)
    r = cli("launch", "-e", str(exp), "--foreground")
    assert r.returncode == 0, r.stderr

    def rows(out: str) -> list[str]:
        return [line for line in out.splitlines() if re.match(r"g\dn1 ", line)]

    status = cli("status", "--experiment-name", "exp")
    assert status.returncode == 0, status.stderr
    assert len(rows(r.stdout)) == 2 and rows(r.stdout) == rows(status.stdout)
    assert "progress: all pairs ended" in r.stdout


def test_status_watch_redraws_until_ctrl_c(tmp_path):
    exp = tmp_path / "e.toml"
    write_experiment(exp, fake_command("--sleep", "600"), gpus=(1,), delay_s=1)
    sup.launch(sup.cfgmod.load(exp))
    master, slave = pty.openpty()
    watch = subprocess.Popen(
        hwscale_cmd("status", "--watch", "0.2"),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
    )
    os.close(slave)
    try:
        out = _read_until(master, b"running")  # first frames say scheduled, a later one running
        while (
            out.count(b"refreshing every 0.2s") < 2
        ):  # it keeps redrawing (bounded by _read_until's timeout)
            out += _read_until(master, b"refreshing")
        assert out.count(b"refreshing every 0.2s") >= 2
        watch.send_signal(signal.SIGINT)
        assert _wait_reading(watch, master) == 0
    finally:
        os.close(master)
        if watch.poll() is None:
            watch.kill()


@pytest.mark.parametrize("how", ["ctrl+c", "SIGTERM"])
def test_status_watch_piped_and_stopped_prints_its_last_frame_saying_so(
    tmp_path, capsys, monkeypatch, how
):
    """Piped, a watch stopped by SIGTERM (`timeout 600 hwscale-tui status --watch > log`)
    printed nothing, and one stopped by ctrl+c a frame that said it was still refreshing."""
    from hwscale_tui.commands import status as status_cmd

    exp = tmp_path / "e.toml"
    write_experiment(exp, fake_command("--sleep", "600"), gpus=(1,), delay_s=0)
    sup.launch(sup.cfgmod.load(exp))

    def stop(_seconds: float) -> None:  # the first refresh is interrupted
        if how == "SIGTERM":
            os.kill(os.getpid(), signal.SIGTERM)
        else:
            raise KeyboardInterrupt

    def unhandled(_signum: int, _frame: object) -> None:  # by default SIGTERM ends pytest
        raise RuntimeError("the watch left SIGTERM to the process's own handler")

    monkeypatch.setattr(status_cmd.time, "sleep", stop)
    before = signal.signal(signal.SIGTERM, unhandled)
    try:
        assert main(["status", "--watch", "0.2", "--experiment-name", "exp"]) == 0
        assert signal.getsignal(signal.SIGTERM) is unhandled  # the handler is put back
    finally:
        signal.signal(signal.SIGTERM, before)
    out = capsys.readouterr().out
    assert out.startswith("exp  generation 1") and "g1n1" in out
    assert out.rstrip().endswith("stopped watching (the sweeps keep running)"), out
    assert "refreshing every" not in out


def test_status_watch_of_a_never_launched_experiment_says_it_waits_for_a_launch(
    tmp_path, capsys, monkeypatch
):
    """It keeps watching (a launch from another terminal shows up), and says so: it said
    "the sweeps keep running" of sweeps that never started."""
    from hwscale_tui.commands import status as status_cmd

    exp = tmp_path / "e.toml"
    write_experiment(exp, fake_command("--sleep", "600"), gpus=(1,), delay_s=0)
    frames: list[str] = []

    def one_refresh_then_stop(_seconds: float) -> None:
        frames.append("refresh")
        if len(frames) > 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(status_cmd.time, "sleep", one_refresh_then_stop)
    assert main(["status", "--watch", "0.2", "-e", str(exp)]) == 0
    out = capsys.readouterr().out
    assert frames == ["refresh", "refresh"]  # it went on watching past the first frame
    assert "exp has not been launched" in out
    assert out.rstrip().endswith("stopped watching (nothing was launched)"), out
    assert "sweeps keep running" not in out


def test_bad_input_is_one_sentence_exit_2_and_writes_nothing(tmp_path, capsys):
    exp = tmp_path / "e.toml"
    write_experiment(exp, fake_command(), delay_s=1)
    r = cli("cancel")  # once through a real process: exit code and a single stderr line
    assert r.returncode == 2 and r.stderr == (
        "hwscale-tui: error: name the pairs to cancel (like g4n1) or pass --all, not both and not neither.\n"
    )
    cases = [
        (("cancel", "g1n1", "--all"), "name the pairs to cancel"),
        (("cancel", "g1n1"), "has no launched pairs"),
        (
            ("launch", "-e", str(exp), "--only", "g9n9"),
            "'g9n9' is not a pair of experiment exp; its pairs are: g1n1, g2n1, g4n1.",
        ),
        (("launch", "-e", str(exp), "trainer.seed"), "is not key=value"),
        (("launch", "-e", str(exp), "--resume"), "has never been launched"),
        (("status", "--watch", "0"), "--watch 0 is not a refresh interval"),
        (
            ("cancel", "--all", "--grace", "-1", "--experiment-name", "exp"),
            "--grace -1 is out of range",
        ),
    ]
    for args, message in cases:
        assert main(list(args)) == 2, args
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, (args, err)
    assert not snapshot_path("exp").exists()
    assert not supervisor_log_path("exp").exists()
    with Store.open_default() as store:
        assert store.conn.execute("SELECT COUNT(*) FROM launches").fetchone()[0] == 0


def test_paths_and_warnings_with_brackets_print_as_they_are(tmp_path, monkeypatch, capsys):
    """`launch` and `plan` printed paths and warnings as rich markup: a '[lab]' in
    HWSCALE_HOME or metta.repo was taken for a style and dropped ('state (SQLite):
    /tmp//data/hwscale.sqlite', 'metta.repo /tmp//metta is not a directory')."""
    home = tmp_path / "[lab]" / "hw"
    monkeypatch.setenv("HWSCALE_HOME", str(home))
    exp = tmp_path / "e.toml"
    write_experiment(exp, fake_command(), gpus=(1,), delay_s=0)
    assert main(["launch", "-e", str(exp), "--foreground"]) == 0
    out = capsys.readouterr().out
    assert f"state (SQLite):      {home}/data/hwscale.sqlite" in out, out
    assert f"experiment snapshot: {home}/state/experiments/exp.toml" in out, out
    metta = tmp_path / "m.toml"
    metta.write_text(
        '[experiment]\nname = "m"\nrunner = "metta"\n[grid]\ngpu_counts = [1]\n'
        f'node_counts = [1]\n[metta]\nrepo = "{tmp_path}/[lab]/metta"\n'
    )
    assert main(["plan", "-e", str(metta)]) == 0
    out = capsys.readouterr().out
    assert f"warning: metta.repo {tmp_path}/[lab]/metta is not a directory" in out, out


def test_an_interrupted_foreground_launch_says_what_it_did_to_each_pair(monkeypatch, capsys):
    """It printed 'g1n1: cancelled stopped 3 processes in 0.23 s' (and 'g2n1: not cancelled
    already exited'): the outcome and its detail read as one phrase."""
    from hwscale_tui.commands.launch import _cancel_owned

    outcomes = [
        sup.CancelOutcome("exp.g1n1", "running", True, detail="stopped 3 processes in 0.23 s"),
        sup.CancelOutcome("exp.g2n1", "exited", False, detail="already exited"),
        sup.CancelOutcome("exp.g4n1", "scheduled", True),
    ]
    monkeypatch.setattr(sup, "cancel_pairs", lambda *a, **k: outcomes)
    monkeypatch.setattr(signal, "signal", lambda *a: None)  # leave this process's handlers
    assert _cancel_owned("exp", ["exp.g1n1", "exp.g2n1", "exp.g4n1"], signal.SIGINT) == 130
    err = capsys.readouterr().err.splitlines()
    assert err[1:] == [
        "  g1n1: cancelled: stopped 3 processes in 0.23 s",
        "  g2n1: not cancelled: already exited",
        "  g4n1: cancelled",
    ], err


def test_settings_given_with_resume_are_refused_not_ignored(tmp_path, capsys):
    """A resume starts the pairs with the commands their launch recorded: `launch --resume
    --max-trials 20 seed=3` was accepted and both were silently ignored."""
    exp = tmp_path / "e.toml"
    write_experiment(exp, fake_command(), gpus=(1,), delay_s=0)
    assert main(["launch", "-e", str(exp), "--foreground"]) == 0
    capsys.readouterr()
    assert main(["launch", "--resume", "--max-trials", "20", "seed=3"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "so --max-trials, seed=3 would be ignored; accepted: --resume with only --delay" in err
    assert main(["launch", "--resume", "--delay", "1"]) == 0  # when the pairs start: taken
    assert "nothing to resume for exp" in capsys.readouterr().out


def test_new_generation_on_a_first_launch_says_it_changed_nothing(tmp_path, capsys):
    """It printed 'generation: 1' and nothing else: the flag the user gave was passed over in
    silence. A second --new-generation does start generation 2, and says nothing more."""
    exp = tmp_path / "e.toml"
    write_experiment(exp, fake_command(), gpus=(1,), delay_s=0)
    assert main(["launch", "-e", str(exp), "--foreground", "--new-generation"]) == 0
    out = capsys.readouterr()
    assert "generation:          1\n" in out.out, out.out
    assert out.err.splitlines()[-1] == (  # after the foreground run's log lines
        "hwscale-tui launch: note: experiment exp had never been launched, so --new-generation "
        "changed nothing: this is its generation 1."
    )
    assert main(["launch", "-e", str(exp), "--foreground", "--new-generation"]) == 0
    out = capsys.readouterr()
    assert "generation:          2 (new: earlier generations' trials are kept apart)" in out.out
    assert "note:" not in out.err, out.err
