"""The tool maker ``hwscale-tui metta install-tool`` writes into a Metta ``main`` checkout.

Metta ``main`` (a8d1ecee19) has no ``experiments/adaptive/hardware_scaling``, and its SweepTool
takes the search space only as ``search_space`` (metta/tools/sweep.py:118-127), whose values must
be ``ParameterConfig`` objects to be searched (:448-458); JSON on the command line would arrive as
plain dicts. This small module builds them, so the per-pair space ``plan`` shows is what Metta
searches. It is found by ``tools/run.py`` through a direct import
(common/src/metta/common/tool/tool_path.py:24-52 at a8d1ecee19) of ``recipes``, a package of the
checkout (pyproject.toml:6).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import UsageError
from ..paths import write_private_text
from .profiles import MAIN, PROFILES, detect_profile

MARKER = "# Written by hwscale-tui metta install-tool"
TOOL_RELPATH = Path("recipes/experiment/hwscale_sweep.py")

TOOL_SOURCE = (
    MARKER
    + ''' (hwscale_tui/metta/install.py); safe to delete.
"""One hardware pair's sweep for hwscale-tui: SweepTool with the space hwscale-tui plans.

``search_space`` maps dotted trainer keys to ParameterConfig fields (min, max, distribution,
mean, scale) or to a fixed value; ``total_timesteps`` becomes the fixed trainer.total_timesteps.
"""

from typing import Any

from metta.sweep.parameter_config import ParameterConfig
from metta.tools.sweep import SweepSchedulerType, SweepTool


def hw_sweep(
    *,
    gpus: int,
    nodes: int,
    recipe_module: str = "recipes.prod.arena_basic_easy_shaped",
    train_entrypoint: str = "train",
    eval_entrypoint: str = "evaluate_in_sweep",
    total_timesteps: int = 300_000_000,
    protein_metric_path: str = "evaluator/eval_sweep/score",
    search_space: dict[str, Any] | None = None,
) -> SweepTool:
    space: dict[str, Any] = {}
    for key, spec in (search_space or {}).items():
        space[key] = ParameterConfig(**spec) if isinstance(spec, dict) else spec
    space["trainer.total_timesteps"] = int(total_timesteps)
    return SweepTool(
        search_space=space,
        protein_metric=protein_metric_path,
        recipe_module=recipe_module,
        train_entrypoint=train_entrypoint,
        eval_entrypoint=eval_entrypoint,
        scheduler_type=SweepSchedulerType.ASYNC_CAPPED,
        max_parallel_jobs=4,
        gpus=gpus,
        nodes=nodes,
    )
'''
)


def install_tool(repo: Path, *, force: bool = False) -> Path:
    """Write the tool maker into ``repo``; UsageError (nothing written) when that is not safe."""
    repo = repo.expanduser()
    if not repo.is_dir():
        raise UsageError(f"--repo {repo} is not a directory; accepted: a Metta main checkout.")
    found = detect_profile(repo)
    if found != MAIN:
        what = f"looks like Metta {found}" if found else "does not look like a Metta checkout"
        raise UsageError(
            f"{repo} {what}; accepted: a Metta main checkout (with recipes/prod/arena_basic_easy_shaped.py), "
            f"since only profile main needs {PROFILES[MAIN].tool}."
        )
    target = repo / TOOL_RELPATH
    # --force replaces a file, never a directory (writing over one failed on the temp file)
    if target.is_dir():
        raise UsageError(
            f"{target} is a directory, not the tool maker's file; accepted: move it away, "
            "then run install-tool again."
        )
    if target.exists() and not force:
        head = target.read_text(encoding="utf-8", errors="replace")[: len(MARKER)]
        if head != MARKER:
            raise UsageError(
                f"{target} exists and was not written by hwscale-tui; accepted: move it away or pass --force."
            )
    if not target.parent.is_dir():
        raise UsageError(
            f"{target.parent} does not exist; accepted: a Metta main checkout (recipes/experiment/ is part of it)."
        )
    write_private_text(target, TOOL_SOURCE)
    target.chmod(0o644)  # part of the checkout, read by uv/python like its neighbours
    return target
