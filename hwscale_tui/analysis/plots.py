"""PNG figures for the Markdown report (matplotlib, Agg backend, imported only here and lazily)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..paths import ensure_private_dir
from .core import TO_TARGET_COLUMNS, AnalysisResult
from .fits import PowerLawFit, ThroughputSelection
from .format import PLOT_FILES, fmt_level


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _compact(value: float, _pos: object = None) -> str:
    from .format import fmt_count

    return fmt_count(value)


def _log_axes(ax: Any, x_base: int = 10) -> None:
    """Log axes with plain tick labels (1-2-5 per decade): mathtext labels are slow to draw."""
    from matplotlib import ticker

    ax.set_xscale("log", base=x_base)
    ax.set_yscale("log")
    for axis, base in ((ax.xaxis, x_base), (ax.yaxis, 10)):
        subs = (1.0,) if base == 2 else (1.0, 2.0, 5.0)
        axis.set_major_locator(ticker.LogLocator(base=base, subs=subs))
        axis.set_minor_locator(ticker.NullLocator())
        axis.set_major_formatter(ticker.FuncFormatter(_compact))


def stage_plots(
    result: AnalysisResult, out_dir: Path
) -> tuple[dict[str, Path], list[tuple[Path, Path]], list[Path]]:
    """Draw every figure that has data into a temporary file beside its name; returns title ->
    path, the (temporary, final) pairs to rename and the figures an earlier report left that
    this one does not draw. Nothing that was there is changed: on a failure (a full disk) the
    temporary files are removed and the error names the figure; :func:`commit_plots` puts them
    in place."""
    plt = _pyplot()
    out_dir = ensure_private_dir(Path(out_dir))  # private whatever the caller's umask
    saved: dict[str, Path] = {}
    staged: list[tuple[Path, Path]] = []
    stale: list[Path] = []
    try:
        for title, name, draw in zip(
            (
                "Learning curves (best trial per config)",
                f"To target vs total {result.settings.unit}",
                f"Throughput vs total {result.settings.unit}",
                "Kaplan-Meier: P(reached target) vs agent steps",
                "Time vs cost to target (Pareto front)",
            ),
            PLOT_FILES,
            (_curves, _to_target, _throughput, _survival, _pareto),
            strict=True,
        ):
            fig = draw(plt, result)
            path = out_dir / name
            if fig is None:
                # nothing to draw this time (no config reached the target): a figure an earlier
                # report left under this name would sit beside this report as if it were its
                # own (the app writes every report to one folder)
                if path.is_file() or path.is_symlink():
                    stale.append(path)
                continue
            # a link is followed, as the report's own path is: the file it points to gets it
            final = Path(os.path.realpath(path)) if path.is_symlink() else path
            tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
            staged.append((tmp, final))
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.fchmod(fd, 0o600)  # whatever the umask
                with os.fdopen(fd, "wb") as fh:
                    fig.savefig(fh, dpi=100, format="png")
                    fh.flush()
                    os.fsync(fh.fileno())
            except OSError as e:
                # a full disk's write error names no file: the figure is named, not the report
                if e.filename is None:
                    raise OSError(e.errno, e.strerror or str(e), str(final)) from e
                raise
            finally:
                plt.close(fig)
            saved[title] = path
    except BaseException:
        discard_plots(staged)
        raise
    return saved, staged, stale


def discard_plots(staged: list[tuple[Path, Path]]) -> None:
    """Remove the temporary files :func:`stage_plots` wrote (the figures there stay as they were)."""
    for tmp, _ in staged:
        tmp.unlink(missing_ok=True)


def commit_plots(staged: list[tuple[Path, Path]], stale: list[Path]) -> None:
    """Put the staged figures in place (a rename each) and remove the stale ones."""
    for tmp, final in staged:
        os.replace(tmp, final)
    for path in stale:
        path.unlink(missing_ok=True)


def save_plots(result: AnalysisResult, out_dir: Path) -> dict[str, Path]:
    """Write every figure that has data; returns title -> path."""
    saved, staged, stale = stage_plots(result, out_dir)
    commit_plots(staged, stale)
    return saved


def _has_band(fit: Any) -> bool:
    """Whether a fit has a band to draw: two or more bootstrap resamples. Without them
    (``--bootstrap 0``, or points exactly on the law: "[no interval]" in the text) ``band``
    is the fitted curve twice, an empty fill whose legend still said "95% band"."""
    return int(getattr(fit, "boot_theta", np.empty((0, 0))).shape[0]) >= 2


def _curves(plt: Any, result: AnalysisResult) -> Any:
    fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
    for _, row in result.per_config.iterrows():
        curve = result.curves[row["best_run_id"]]
        (line,) = ax.plot(curve.agent_step, curve.smoothed, label=row["config"])
        ax.plot(curve.agent_step, curve.score, color=line.get_color(), alpha=0.25, linewidth=0.8)
    ax.axhline(
        result.target,
        color="black",
        linestyle="--",
        linewidth=1,
        label=f"target {result.target:.4g}",
    )
    ax.set_xlabel("agent steps")
    ax.set_ylabel("score (smoothed; raw faint)")
    ax.legend(fontsize=8, ncol=2)
    return fig


def _to_target(plt: Any, result: AnalysisResult) -> Any:
    gpus = result.per_config["total_gpus"].to_numpy(dtype=float)
    columns = [result.per_config[col].to_numpy(dtype=float) for col in TO_TARGET_COLUMNS]
    if not any((np.isfinite(y) & (y > 0)).any() for y in columns):
        return None  # no config reached the target: nothing to draw (the tables say so)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4), layout="constrained")
    for ax, y, law_name, label in zip(
        axes,
        columns,
        ("samples_to_target", "time_to_target", "cost_to_target"),
        ("samples to target", "seconds to target", "$ to target"),
    ):
        ok = np.isfinite(y) & (y > 0)
        law = result.laws.get(law_name)
        ax.set_xlabel(f"total {result.settings.unit}")
        ax.set_ylabel(label)
        if not ok.any():  # e.g. no cost known: a log axis without a positive value cannot be drawn
            ax.set_title("no value to plot", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        if isinstance(law, PowerLawFit):
            grid = np.geomspace(gpus.min(), gpus.max(), 50)
            if _has_band(law):
                lo, hi = law.band(grid)
                ax.fill_between(grid, lo, hi, alpha=0.2, label=f"{fmt_level(law.ci_level)} band")
            ax.plot(grid, law.predict(grid), label=f"{law.a:.3g} G^{law.b:.2f}")
        else:
            ax.set_title("not enough data for a law", fontsize=8)
        ax.scatter(gpus[ok], y[ok], color="black", zorder=3, s=18)
        _log_axes(ax, x_base=2)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    return fig


def _throughput(plt: Any, result: AnalysisResult) -> Any:
    law = result.laws.get("throughput")
    pt = result.per_trial.dropna(subset=["sps"]) if "sps" in result.per_trial else None
    if pt is None or pt.empty:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
    if isinstance(law, ThroughputSelection):
        grid = np.geomspace(1, max(2.0, float(pt["total_gpus"].max()) * 2), 60)
        if _has_band(law.fit):
            lo, hi = law.band(grid)
            ax.fill_between(grid, lo, hi, alpha=0.2, label=f"{law.chosen} band")
        ax.plot(
            grid,
            law.amdahl.predict(grid),
            label="Amdahl",
            linestyle="-" if law.chosen == "amdahl" else ":",
        )
        if hasattr(law.usl, "predict"):
            ax.plot(
                grid,
                law.usl.predict(grid),
                label="USL",
                linestyle="-" if law.chosen == "usl" else ":",
            )
    ax.scatter(
        pt["total_gpus"], pt["sps"], s=10, color="black", alpha=0.6, zorder=3, label="trials"
    )
    _log_axes(ax, x_base=2)
    ax.set_xlabel(f"total {result.settings.unit}")
    ax.set_ylabel("agent steps per second")
    ax.legend(fontsize=8)
    return fig


def _survival(plt: Any, result: AnalysisResult) -> Any:
    fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
    drawn = False
    for config, by_axis in result.survival.items():
        s = by_axis.get("agent_step")
        if s is None:
            continue
        if s.times.size == 0:  # none reached: 0 over all it was followed, not left out
            ax.step(
                [0.0, s.followed_to], [0.0, 0.0], where="post", label=f"{config} (none reached)"
            )
            drawn = True
            continue
        x = np.concatenate([[0.0], s.times, [s.followed_to]])
        y = np.concatenate([[0.0], s.p_reached, [s.p_reached[-1]]])
        ax.step(x, y, where="post", label=config)
        drawn = True
    if not drawn:
        plt.close(fig)
        return None
    ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("agent steps")
    ax.set_ylabel("P(reached target)")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8, ncol=2)
    return fig


def _pareto(plt: Any, result: AnalysisResult) -> Any:
    import pandas as pd

    pts = pd.DataFrame(result.pareto.points, columns=["time_s", "cost_usd", "config", "on_front"])
    if pts.empty:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
    off = pts[~pts["on_front"]]
    on = pts[pts["on_front"]].sort_values("time_s")
    ax.scatter(off["time_s"], off["cost_usd"], color="grey", label="dominated")
    ax.plot(on["time_s"], on["cost_usd"], marker="o", label="Pareto front")
    for _, r in pts.iterrows():
        ax.annotate(
            r["config"],
            (r["time_s"], r["cost_usd"]),
            fontsize=8,
            xytext=(3, 3),
            textcoords="offset points",
        )
    if result.pareto.knee:
        k = pts[pts["config"] == result.pareto.knee].iloc[0]
        ax.scatter(
            [k["time_s"]], [k["cost_usd"]], s=160, facecolors="none", edgecolors="red", label="knee"
        )
    if (pts["time_s"] > 0).all() and (pts["cost_usd"] > 0).all():
        _log_axes(ax)
    else:  # a price of 0 (--price-per-gpu-hour 0): log axes drew no point, and warned
        ax.set_title("linear axes: a time or cost of 0 has no logarithm", fontsize=8)
    ax.set_xlabel("seconds to target (best trial)")
    ax.set_ylabel("$ to target (best trial)")
    ax.legend(fontsize=8)
    return fig
