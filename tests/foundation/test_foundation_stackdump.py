"""tests/support/stackdump.py: near a test's pytest-timeout, its hwscale-tui children's stacks
go into its report, and no other process is touched."""

from __future__ import annotations

import os
import re
import signal
import textwrap

import psutil
import pytest

from tests.support.cli import REPO
from tests.support.stackdump import fire_after, is_product_cmdline

pytest_plugins = ["pytester"]

# The inner session's one test: it waits in subprocess.run on a product child blocked for good,
# as a test of a deadlocked `hwscale-tui sweep` would, with three other processes around it.
INNER_TEST = textwrap.dedent(
    '''
    import os
    import subprocess
    import sys
    import time

    import psutil
    import pytest

    CHILD = """import hwscale_tui, threading
    def second_thread_waits_for_ever():
        threading.Event().wait()
    def main_thread_waits_for_ever():
        threading.Thread(target=second_thread_waits_for_ever, daemon=True).start()
        threading.Event().wait()
    main_thread_waits_for_ever()
    """
    # A product process whose parent exits at once (as `launch` leaves its supervisor): not a
    # descendant of pytest any more, its stderr a log file.
    ORPHAN = """import hwscale_tui, sys, threading
    def orphan_waits_for_ever():
        print("ready", flush=True)
        threading.Event().wait()
    orphan_waits_for_ever()
    """
    LAUNCHER = """import subprocess, sys
    log = open(sys.argv[1], "ab")
    p = subprocess.Popen([sys.executable, "-c", sys.argv[2]], stdin=subprocess.DEVNULL,
                         stdout=log, stderr=log, start_new_session=True)
    print(p.pid)
    """


    @pytest.mark.timeout(8)
    def test_waits_on_a_child_that_never_ends(tmp_path):
        log = tmp_path / "orphan.log"
        sleeper = subprocess.Popen(["sleep", "60"])
        py_err = open(tmp_path / "py_sleeper.err", "w")
        py_sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                                      stderr=py_err)
        launched = subprocess.run([sys.executable, "-c", LAUNCHER, str(log), ORPHAN],
                                  capture_output=True, text=True, check=True)
        orphan = int(launched.stdout)
        with open(os.environ["ORPHAN_PID_FILE"], "w") as fh:
            fh.write(str(orphan))
        mine = [p.pid for p in psutil.Process().children(recursive=True)]
        print(f"orphan_is_descendant={orphan in mine}")
        while "ready" not in log.read_text():
            time.sleep(0.05)
        try:
            r = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True)
            print(f"sleep_alive={sleeper.poll() is None} py_sleeper_alive={py_sleeper.poll() is None}")
        finally:
            sleeper.kill()
            py_sleeper.kill()
            sleeper.wait()
            py_sleeper.wait()
        print(f"py_sleeper_stderr_bytes={os.path.getsize(tmp_path / 'py_sleeper.err')}")
        print(f"child_rc={r.returncode}")
        assert r.returncode == 0, r.stderr
    '''
)


def test_fire_after_leaves_a_margin_of_3_to_20_s_and_never_before_half():
    assert fire_after(300) == 280
    assert fire_after(100) == 90
    assert fire_after(8) == 5
    assert fire_after(4) == 2


def test_product_command_lines_are_told_by_their_tokens_not_by_paths():
    ci = "/home/ci/hwscale-tui/.venv/bin/python"  # a checkout named after the project
    assert is_product_cmdline([ci, "-m", "hwscale_tui", "sweep", "x.toml"])
    assert is_product_cmdline([ci, "-m", "hwscale_tui.launch.supervisor", "--launch-id", "1"])
    assert is_product_cmdline([ci, "-mhwscale_tui", "status"])
    assert is_product_cmdline([ci, "/home/ci/hwscale-tui/.venv/bin/hwscale-tui", "sweep"])
    assert is_product_cmdline([ci, "-c", "import hwscale_tui; hwscale_tui.x()"])
    assert is_product_cmdline([ci, "/src/hwscale_tui/train/worker.py"])
    assert not is_product_cmdline([ci, "-m", "pytest", "tests/sweep"])
    assert not is_product_cmdline([ci, "/home/ci/hwscale-tui/tests/support/wandb_loopback.py"])
    assert not is_product_cmdline([ci, "-m", "hwscale_tuix"])
    assert not is_product_cmdline(["tmux", "-S", "/tmp/test_hwscale_tui_in_tmux0/sock"])


def test_a_hung_product_child_has_its_stacks_in_the_report_and_nothing_else_is_touched(
    pytester, monkeypatch, tmp_path
):
    """A real inner pytest session with the plugin and an 8 s timeout: 3 s before it, the child
    it waits on dies with every thread's stack in its stderr (so in the failed assertion), the
    orphan's stack is copied from its log, and a plain `sleep` and a plain Python child live on."""
    pid_file = tmp_path / "orphan.pid"
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("ORPHAN_PID_FILE", str(pid_file))
    pytester.makepyfile(test_inner=INNER_TEST)
    try:
        result = pytester.runpytest_subprocess(
            "-p", "tests.support.stackdump", "-p", "no:cacheprovider", timeout=60
        )
    finally:
        _kill_orphan(pid_file)
    out = result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED, out
    result.assert_outcomes(failed=1)
    assert "orphan_is_descendant=False" in out
    # The child's own dump, every thread, in the test's failed assertion (its stderr).
    assert "Fatal Python error: Aborted" in out and "child_rc=-6" in out
    for fn in ("main_thread_waits_for_ever", "second_thread_waits_for_ever"):
        assert re.search(rf'File "<string>", line \d+ in {fn}\n', out), fn
    # One line per product process in the captured stderr (in pid order, so each on its own),
    # then the orphan's dump copied from its log.
    result.stdout.re_match_lines(
        [r".*hwscale stackdump: .*test_waits_on_a_child_that_never_ends is near its 8 s .*"]
    )
    result.stdout.re_match_lines(
        [
            r"hwscale stackdump: pid \d+ \[.*-c 'import hwscale_tui, threading.*\]: "
            r"SIGABRT, stack dumped to its stderr \(pipe:.*\); it dies \(rc -6\)"
        ]
    )
    result.stdout.re_match_lines(
        [
            r"hwscale stackdump: pid \d+ \[.*-c 'import hwscale_tui, sys, threading.*\]: "
            r"SIGABRT, stack dumped to its stderr \(.*orphan.log, copied below\); it dies .*",
            r"hwscale stackdump: --- new in .*orphan.log ---",
            r'  File "<string>", line \d+ in orphan_waits_for_ever',
            r"hwscale stackdump: --- end ---",
        ],
        consecutive=False,
    )
    assert out.count("hwscale stackdump: pid ") == 2  # not the sleepers, not the launcher
    assert "sleep_alive=True py_sleeper_alive=True" in out
    assert "py_sleeper_stderr_bytes=0" in out
    assert "Timeout" not in out  # the dump ended the test, not pytest-timeout


def _kill_orphan(pid_file):
    """The orphan outlives the inner session if the plugin missed it."""
    try:
        pid = int(pid_file.read_text())
        p = psutil.Process(pid)
        if "orphan_waits_for_ever" in " ".join(p.cmdline()):
            os.kill(pid, signal.SIGKILL)
    except (OSError, ValueError, psutil.Error):
        pass
