"""Where `hwscale-tui analyze` writes its outputs: links, pipes and the report's image links."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess

import pytest

from hwscale_tui import cli

TRIALS = "run_id,gpus,nodes,score,cost_usd,sps\na,1,1,100,0.5,50\nb,2,1,90,0.7,100\n"
HISTORY = (
    "run_id,agent_step,wall_s,score,cost_usd\na,100,1,10,0.1\na,200,2,100,0.2\nb,100,1,90,0.1\n"
)


@pytest.fixture
def argv(tmp_path):
    (tmp_path / "t.csv").write_text(TRIALS)
    (tmp_path / "h.csv").write_text(HISTORY)
    return [
        "analyze",
        "--trials",
        str(tmp_path / "t.csv"),
        "--history",
        str(tmp_path / "h.csv"),
        "--bootstrap",
        "0",
    ]


@pytest.mark.parametrize("flag", ["--csv", "--report"])
def test_an_output_at_a_link_is_written_to_the_file_it_points_to(argv, tmp_path, capsys, flag):
    """The output replaced the link with a file of its own: the link was gone and the file it
    pointed to kept its old content."""
    real = tmp_path / "shared" / "latest.out"
    real.parent.mkdir()
    real.write_text("old\n")
    link = tmp_path / "link.out"
    link.symlink_to(real)
    assert cli.main([*argv, flag, str(link)]) == 0
    assert link.is_symlink() and os.readlink(link) == str(real)
    body = real.read_text()
    assert "old" not in body
    assert body.startswith("config," if flag == "--csv" else "# Hardware scaling analysis")
    assert f"wrote {real} (replaced the file that was there)" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--csv", "--report"])
def test_an_output_at_a_pipe_is_refused_and_the_pipe_kept(argv, tmp_path, capsys, flag):
    """A named pipe (like /dev/stdout or a device) was replaced by a regular file, exit 0 and
    "wrote", while its reader got nothing; as root /dev/full became a file."""
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    assert cli.main([*argv, flag, str(fifo)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{flag} {fifo} is not a regular file" in err and "accepted:" in err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.csv", "out.fifo", "t.csv"]


def test_a_link_into_hwscale_tuis_own_folders_is_refused(argv, tmp_path, capsys, private_home):
    """Followed, a link into the state folder would write there: refused as that path is."""
    (private_home / "data").mkdir(parents=True)
    link = tmp_path / "x.csv"
    link.symlink_to(private_home / "data" / "x.csv")
    assert cli.main([*argv, "--csv", str(link)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "inside hwscale-tui's own folder" in err
    assert link.is_symlink() and not (private_home / "data" / "x.csv").exists()


def test_report_images_show_when_its_name_has_spaces_and_parentheses(argv, tmp_path):
    """``--report "run 2 (final).md"`` linked ``![...](run 2 (final)_plots/curves.png)``: the
    space ended the Markdown link, and every plot showed as that text instead of an image."""
    from urllib.parse import unquote

    from markdown_it import MarkdownIt  # rich's Markdown parser, CommonMark

    report = tmp_path / "run 2 (final).md"
    assert cli.main([*argv, "--report", str(report)]) == 0
    html = MarkdownIt("commonmark").render(report.read_text())
    sources = re.findall(r'<img src="([^"]+)"', html)
    assert len(sources) == 5 and "![" not in html
    for src in sources:
        assert (tmp_path / unquote(src)).is_file(), src


def test_a_figure_the_new_report_does_not_draw_is_not_left_from_an_earlier_one(tmp_path):
    """A report where no config reached the target draws no to-target or Pareto figure; the
    ones an earlier report wrote in the same plots folder (the app writes every report to one
    folder) stayed there, showing another target's results beside this report."""
    from hwscale_tui.analysis import AnalysisSettings, analyze, write_report
    from tests.analysis.analysis_helpers import linear_history, trial

    trials = [trial("a", 1, 1, 100.0), trial("b", 2, 1, 100.0), trial("c", 4, 1, 100.0)]
    histories = {t.run_id: linear_history(0.1 * (i + 1)) for i, t in enumerate(trials)}
    md = tmp_path / "report.md"
    plots = tmp_path / "report_plots"
    reached = analyze(trials, histories, AnalysisSettings(n_boot=0))
    write_report(reached, md)
    assert {"to_target.png", "pareto.png"} <= {p.name for p in plots.iterdir()}
    (plots / "notes.txt").write_text("mine\n")  # not a figure's name: kept

    never = AnalysisSettings(target=1e6, target_kind="absolute", n_boot=0)
    write_report(analyze(trials, histories, never), md)
    names = {p.name for p in plots.iterdir()}
    assert "to_target.png" not in names and "pareto.png" not in names
    assert {"curves.png", "survival.png", "throughput.png", "notes.txt"} <= names
    assert "to_target.png" not in md.read_text() and "pareto.png" not in md.read_text()


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder no file can be created in: mode 0555, or for root (whom modes do not stop) a
    read-only tmpfs."""
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    if shutil.which("mount") is None:
        pytest.skip("root without mount: no read-only folder to make")
    if subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)]
    ).returncode:
        pytest.skip("mount failed (no privilege in this container)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)])


@pytest.mark.parametrize(
    "outputs, flag",
    [
        (["--csv", "{ro}/x.csv"], "--csv {ro}/x.csv"),
        (["--csv", "{tmp}/ok.csv", "--report", "{ro}/r.md"], "--report {ro}/r.md"),
        (["--report", "{tmp}/r.md", "--plots", "{ro}"], "--plots {ro}"),
        (["--report", "{ro}/r.md", "--plots", "{tmp}/plots"], "--report {ro}/r.md"),
    ],
)
def test_an_output_in_a_read_only_folder_is_refused_before_anything_is_written(
    argv, tmp_path, capsys, read_only_folder, outputs, flag
):
    """It failed once the analysis had run, exit 1, naming a temporary file
    ('.x.csv.123.tmp: Read-only file system'), after writing the outputs before it: the CSV, or
    the report's five plots."""
    fill = {"ro": read_only_folder, "tmp": tmp_path}
    assert cli.main([*argv, *(o.format(**fill) for o in outputs)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert f"{flag.format(**fill)}: the folder {read_only_folder} is not writable" in err
    assert "accepted: a path in a folder you can write to." in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.csv", "ro", "t.csv"]


def test_pareto_figure_at_a_price_of_zero_draws_its_points_on_linear_axes():
    """At ``--price-per-gpu-hour 0`` every cost to target is $0: the log-log Pareto figure drew
    no point at all and matplotlib printed "Data has no positive values, and therefore cannot
    be log-scaled" on stderr."""
    import warnings

    from hwscale_tui.analysis import AnalysisSettings, analyze
    from hwscale_tui.analysis.plots import _pareto, _pyplot
    from tests.analysis.analysis_helpers import linear_history, trial

    trials = [trial("a", 1, 1, 100.0), trial("b", 2, 1, 100.0)]
    histories = {"a": linear_history(0.1, sps=50), "b": linear_history(0.1, sps=100)}
    result = analyze(trials, histories, AnalysisSettings(n_boot=0, price_per_gpu_hour=0.0))
    assert [p.cost_usd for p in result.pareto.points] == [0.0, 0.0]
    plt = _pyplot()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning fails the test
        fig = _pareto(plt, result)
        fig.canvas.draw()
    ax = fig.axes[0]
    assert ax.get_xscale() == ax.get_yscale() == "linear"
    ymin, ymax = ax.get_ylim()
    assert ymin <= 0.0 <= ymax  # the points are inside the drawn area
    plt.close(fig)


def test_markdown_report_shows_angle_brackets_instead_of_hiding_them_as_html():
    """The note on a trial without hardware says "no g<G>n<N> in the sweep name"; in the
    Markdown report <G> and <N> were raw HTML tags, and the viewer showed "no gn"."""
    from markdown_it import MarkdownIt

    from hwscale_tui.analysis import AnalysisSettings, analyze
    from hwscale_tui.analysis.report import markdown
    from hwscale_tui.records import Trial
    from tests.analysis.analysis_helpers import linear_history, trial

    lost = Trial(sweep="adhoc", run_id="x<1>", gpus=None, nodes=None, state="finished", score=1.0)
    trials = [trial("a", 1, 1, 100.0), trial("b", 2, 1, 100.0), lost]
    histories = {"a": linear_history(0.1), "b": linear_history(0.2), "x<1>": linear_history(0.1)}
    result = analyze(trials, histories, AnalysisSettings(n_boot=0))
    assert any("g<G>n<N>" in n for n in result.notes)
    html = MarkdownIt("commonmark").enable("table").render(markdown(result))
    assert "no g&lt;G&gt;n&lt;N&gt; in the sweep name" in html
    assert "<G>" not in html and "<N>" not in html
