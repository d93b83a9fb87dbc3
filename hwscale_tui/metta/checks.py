"""What ``plan``, the grid and ``launch`` warn about for the metta runner, and what stops a launch.

Each sentence names the upstream fact (docs/metta.md cites file:line) and the fix.
"""

from __future__ import annotations

from pathlib import Path

from ..config import ExperimentConfig
from ..hardware import HardwarePair
from .profiles import FOM_V1, detect_profile, resolve_profile, tool_file

# Metta's SkyPilot task (devops/skypilot/config/skypilot_run.yaml:1-23 at 7c1a7ff418) asks AWS
# for L4 (g6) or A10G (g5) and launch.py's patch_task (:75-110) only changes the count. AWS sells
# those GPUs 1, 4 or 8 per instance (https://aws.amazon.com/ec2/instance-types/g5/ and /g6/).
AWS_G5_G6_GPU_COUNTS = (1, 4, 8)
SKYPILOT_TASK_YAML = "devops/skypilot/config/skypilot_run.yaml"


def _repo(cfg: ExperimentConfig) -> Path | None:
    return Path(cfg.metta.repo).expanduser() if cfg.metta.repo else None


def _task_yaml(cfg: ExperimentConfig) -> str | None:
    repo = _repo(cfg)
    if repo is None:
        return None
    try:
        return (repo / SKYPILOT_TASK_YAML).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def wandb_env_forwarded(yaml_text: str | None, entity: str, project: str) -> bool:
    """Whether the checkout's SkyPilot task already sets the sweep's W&B entity and project."""
    if not yaml_text:
        return False
    lines = [ln.strip() for ln in yaml_text.splitlines()]
    want = {f"WANDB_ENTITY: {entity}", f"WANDB_PROJECT: {project}"}
    want |= {f'WANDB_ENTITY: "{entity}"', f'WANDB_PROJECT: "{project}"'}
    has_entity = any(ln in want for ln in lines if ln.startswith("WANDB_ENTITY"))
    has_project = any(ln in want for ln in lines if ln.startswith("WANDB_PROJECT"))
    return has_entity and has_project


def launch_blockers(cfg: ExperimentConfig) -> list[str]:
    """Reasons the metta runner must not start (launch exits 2 with the first)."""
    if cfg.experiment.runner != "metta" or cfg.launch.command:
        return []
    out: list[str] = []
    if not cfg.wandb.entity:
        out.append(
            "the metta runner needs a W&B entity, as upstream's own launcher required "
            "--wandb-entity (without one Metta's sweep store looks for its runs under entity "
            '"unconfigured" or your default entity); accepted: wandb.entity in the experiment file, '
            "--wandb-entity NAME, or WANDB_ENTITY in the environment"
        )
    return out


def experiment_warnings(cfg: ExperimentConfig) -> list[str]:
    if cfg.experiment.runner != "metta":
        return []
    w: list[str] = list(cfg.deprecations)
    resolved = resolve_profile(cfg)
    prof = resolved.profile
    repo = _repo(cfg)
    if cfg.launch.command:
        return w
    for b in launch_blockers(cfg):
        w.append(b + "; launch refuses to start")
    if cfg.wandb.entity and cfg.experiment.dispatcher == "skypilot":
        project = cfg.wandb.effective_project
        if not wandb_env_forwarded(_task_yaml(cfg), cfg.wandb.entity, project):
            w.append(
                "Metta's SkyPilot launch forwards no WANDB_* variables, so remote trials log to "
                f"Metta's default W&B project, not {cfg.wandb.entity}/{project} where the sweep looks "
                f"for them; fix: add 'WANDB_ENTITY: {cfg.wandb.entity}' and 'WANDB_PROJECT: {project}' "
                f"under envs: in {(repo / SKYPILOT_TASK_YAML) if repo else SKYPILOT_TASK_YAML} "
                "of the Metta checkout"
            )
    if cfg.experiment.dispatcher == "local":
        w.append(
            "Metta's local dispatcher ignores gpus and nodes: every pair trains on this machine, so "
            "pairs differ only in batch bounds and this is not a hardware comparison (use "
            'dispatcher = "skypilot")'
        )
    w.append(
        f"sweep.batch_size = {cfg.sweep.batch_size} has no effect under Metta's async_capped "
        "scheduler (only max_parallel_jobs and max_trials do)"
    )
    if cfg.metta.eval_entrypoint == "evaluate":
        w.append(
            'metta.eval_entrypoint = "evaluate" breaks sweep evaluations; use "evaluate_in_sweep" '
            "(it takes the single policy_uri)"
        )
    if prof.name == FOM_V1:
        fixed = [
            k
            for k in ("grid.cpus_per_node", "sweep.acquisition_fn", "sweep.max_suggestion_cost")
            if k in cfg.explicit
        ]
        if fixed:
            w.append(
                f"{', '.join(fixed)} cannot reach Metta fom-v1: its hw_sweep builds the search space "
                "itself (batch bounds from the sweep machine's CPU count, naive acquisition, "
                '10800 s cost cap); use metta.profile = "main" to send your own'
            )
    if repo is not None:
        if not repo.is_dir():
            w.append(f"metta.repo {repo} does not exist")
        else:
            found = detect_profile(repo)
            if resolved.how == "default":
                w.append(
                    f"cannot tell which Metta version {repo} is; using profile fom-v1 "
                    '(set metta.profile = "fom-v1" or "main")'
                )
            elif resolved.how == "set" and found and found != prof.name:
                w.append(
                    f'metta.profile = "{prof.name}" but {repo} looks like Metta {found}; '
                    "its commands will not bind there"
                )
            tool = cfg.metta.tool or prof.tool
            if tool_file(repo, tool) is None:
                how = (
                    f"run: hwscale-tui metta install-tool --repo {repo}"
                    if prof.installs_tool and not cfg.metta.tool
                    else f"check out Metta {prof.commit} there or set metta.tool to one the checkout has"
                )
                w.append(f"Metta tool {tool} is not in {repo}; {how}")
    else:
        w.append(
            "metta.repo is not set: commands run in the current directory, which must be a Metta checkout"
        )
    return w


def pair_warnings(cfg: ExperimentConfig, pair: HardwarePair) -> list[str]:
    if cfg.experiment.runner != "metta" or cfg.experiment.dispatcher != "skypilot":
        return []
    text = _task_yaml(cfg)
    if text is not None and not ("L4" in text or "A10G" in text):
        return []  # the checkout's task asks for other accelerators
    if pair.gpus not in AWS_G5_G6_GPU_COUNTS:
        return [
            f"{pair.gpus} GPUs per node cannot be placed: Metta's SkyPilot task asks AWS for L4 (g6) "
            "or A10G (g5), sold only 1, 4 or 8 per instance, so this pair's trials never start"
        ]
    return []
