"""``analyze --report`` on a disk that fills while the report is written (helper 73's QA pass).

Each PNG was opened in place with O_TRUNC and drawn into: a full disk left an empty or cut
``curves.png`` (an earlier report's figure lost, a new report's folder left with a broken
file), and the error named the report (``--report FILE``: ``FILE: the disk is full``), not the figure."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from hwscale_tui import cli
from hwscale_tui.analysis import AnalysisSettings, analyze, write_report
from hwscale_tui.analysis import plots as plots_mod
from tests.analysis.analysis_helpers import linear_history, trial


def _result(target: float = 0.9):
    trials = [trial("a", 1, 1, 100.0), trial("b", 2, 1, 100.0), trial("c", 4, 1, 100.0)]
    histories = {t.run_id: linear_history(0.1 * (i + 1)) for i, t in enumerate(trials)}
    return analyze(trials, histories, AnalysisSettings(n_boot=0, target=target))


def _disk_fills_at(monkeypatch, draw_name: str) -> None:
    """The figure ``draw_name`` draws gets part of its bytes written, then ENOSPC."""
    real = getattr(plots_mod, draw_name)

    def draw(plt, result):
        fig = real(plt, result)

        def savefig(fh, **_kw):
            fh.write(b"\x89PNG partial")
            raise OSError(errno.ENOSPC, "No space left on device")

        fig.savefig = savefig
        return fig

    monkeypatch.setattr(plots_mod, draw_name, draw)


def _contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_full_disk_leaves_an_earlier_report_and_its_figures_as_they_were(tmp_path, monkeypatch):
    md = tmp_path / "r.md"
    write_report(_result(), md)
    before = _contents(tmp_path)
    assert {md.name, "curves.png", "survival.png"} <= set(before)

    _disk_fills_at(monkeypatch, "_survival")
    with pytest.raises(OSError) as err:
        write_report(_result(0.5), md)
    assert err.value.errno == errno.ENOSPC
    assert err.value.filename == str(tmp_path / "r_plots" / "survival.png")
    assert _contents(tmp_path) == before  # no figure cut or replaced, no temporary file left


def test_a_full_disk_on_a_new_report_leaves_nothing(tmp_path, monkeypatch):
    _disk_fills_at(monkeypatch, "_curves")
    with pytest.raises(OSError):
        write_report(_result(), tmp_path / "r.md")
    assert list(tmp_path.iterdir()) == []  # no report, no plots folder, no empty curves.png


def test_analyze_names_the_figure_the_disk_had_no_room_for(tmp_path, monkeypatch, capsys):
    (tmp_path / "t.csv").write_text("run_id,gpus,nodes,score\na,1,1,100\nb,2,1,90\n")
    (tmp_path / "h.csv").write_text(
        "run_id,agent_step,wall_s,score\na,100,1,10\na,200,2,100\nb,100,1,90\n"
    )
    out = tmp_path / "out"
    out.mkdir()
    _disk_fills_at(monkeypatch, "_curves")
    argv = ["analyze", "--trials", str(tmp_path / "t.csv"), "--history", str(tmp_path / "h.csv")]
    assert cli.main([*argv, "--bootstrap", "0", "--report", str(out / "r.md")]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == (
        f"hwscale-tui: error: {out / 'r_plots' / 'curves.png'}: the disk is full; free space, "
        "then retry."
    )
    assert list(out.iterdir()) == []


def test_a_report_that_fails_leaves_the_csv_written_with_it_as_it_was(
    tmp_path, monkeypatch, capsys
):
    """``--csv`` was written first: a report that then failed left the CSV replaced by this
    analysis's, beside the earlier report."""
    (tmp_path / "t.csv").write_text("run_id,gpus,nodes,score\na,1,1,100\nb,2,1,90\n")
    (tmp_path / "h.csv").write_text(
        "run_id,agent_step,wall_s,score\na,100,1,10\na,200,2,100\nb,100,1,90\n"
    )
    out = tmp_path / "out"
    out.mkdir()
    (out / "per_config.csv").write_text("earlier\n")
    real_curves = plots_mod._curves
    _disk_fills_at(monkeypatch, "_curves")
    argv = ["analyze", "--trials", str(tmp_path / "t.csv"), "--history", str(tmp_path / "h.csv")]
    argv += [
        "--bootstrap",
        "0",
        "--csv",
        str(out / "per_config.csv"),
        "--report",
        str(out / "r.md"),
    ]
    assert cli.main(argv) == 1
    capsys.readouterr()
    assert sorted(p.name for p in out.iterdir()) == ["per_config.csv"]
    assert (out / "per_config.csv").read_text() == "earlier\n"

    monkeypatch.setattr(plots_mod, "_curves", real_curves)  # room again: both are written
    assert cli.main(argv) == 0
    assert (out / "per_config.csv").read_text().startswith("config,")
    err = capsys.readouterr().err
    assert f"analyze: wrote {out / 'per_config.csv'} (replaced the file that was there)\n" in err
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(["per_config.csv", (out / "r.md").name, "r_plots"])
