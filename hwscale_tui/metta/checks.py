"""What ``plan``, the grid and ``launch`` warn about for the metta runner, and what stops a launch.

Each sentence names the upstream fact (docs/metta.md cites file:line) and the fix.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import ExperimentConfig, default_config
from ..errors import UsageError
from ..hardware import HardwarePair, plan_of
from ..search.presets import LR_BATCH_EXPONENT
from .command import read_as, reads_back
from .profiles import FOM_V1, MettaProfile, detect_profile, resolve_profile, tool_file

# Metta's SkyPilot task (devops/skypilot/config/skypilot_run.yaml:1-23 at 7c1a7ff418) asks AWS
# for L4 (g6) or A10G (g5) and launch.py's patch_task (:75-110) only changes the count. AWS sells
# those GPUs 1, 4 or 8 per instance (https://aws.amazon.com/ec2/instance-types/g5/ and /g6/).
AWS_G5_G6_GPU_COUNTS = (1, 4, 8)
SKYPILOT_TASK_YAML = "devops/skypilot/config/skypilot_run.yaml"
# Metta's runner, which every pair's command runs in the checkout: tools/run.py at 7c1a7ff418 and
# at a8d1ecee19 (docs/metta.md, "How tools/run.py binds arguments").
RUN_PY = "tools/run.py"


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


_WANDB_ENV_LINE = re.compile(r"^\s*(WANDB_ENTITY|WANDB_PROJECT)\s*:(?:\s+(.*))?$")


def _yaml_scalar(raw: str) -> str:
    """A one-line YAML scalar's value: quotes removed, or a trailing ``# comment`` cut."""
    raw = raw.strip()
    if raw[:1] in ("'", '"'):
        end = raw.find(raw[0], 1)
        return raw[1:end] if end > 0 else raw
    return raw.split(" #", 1)[0].strip()


def wandb_env_forwarded(yaml_text: str | None, entity: str, project: str) -> bool:
    """Whether the checkout's SkyPilot task already sets the sweep's W&B entity and project
    (``WANDB_ENTITY: team``, quoted or not, with or without a trailing comment)."""
    if not yaml_text:
        return False
    found: dict[str, set[str]] = {"WANDB_ENTITY": set(), "WANDB_PROJECT": set()}
    for line in yaml_text.splitlines():
        m = _WANDB_ENV_LINE.match(line)
        if m:
            found[m.group(1)].add(_yaml_scalar(m.group(2) or ""))
    return entity in found["WANDB_ENTITY"] and project in found["WANDB_PROJECT"]


# What a Metta main trial (a8d1ecee19) checks when it starts, with the recipe's values. Its agents
# per rank: auto-tuned env workers (cpus // 2) // GPUs per node
# (metta/rl/training/training_environment.py:158-162), envs from calculate_batch_sizes
# (metta/rl/training/batch.py:13-19; forward_pass_minibatch_target_size 4096 and async_factor 2,
# training_environment.py:45, :51), 24 agents per env (recipes/prod/arena_basic_easy_shaped.py:36-37),
# agents = envs x 24 (metta/rl/trainer.py:78-80, training_environment.py:227-232).
MAIN_TRIAL_AGENTS_PER_ENV = 24
MAIN_TRIAL_FORWARD_TARGET = 4096
MAIN_TRIAL_ASYNC_FACTOR = 2
MAIN_TRIAL_MINIBATCH = 16384  # TrainerConfig.minibatch_size, metta/rl/trainer_config.py:87


def main_trial_agents(cpus_per_node: int, gpus_per_node: int) -> int:
    """The agents one rank of a Metta main trial steps on a node with these CPUs and GPUs."""
    workers = max(1, (cpus_per_node // 2) // max(gpus_per_node, 1))
    target = max(MAIN_TRIAL_FORWARD_TARGET // MAIN_TRIAL_AGENTS_PER_ENV, 2, workers)
    envs = (target // workers) * workers * MAIN_TRIAL_ASYNC_FACTOR
    return envs * MAIN_TRIAL_AGENTS_PER_ENV


def main_trial_error(batch: int, bptt: int, minibatch: int, agents: int) -> str | None:
    """Why a Metta main trial refuses these values at start (the first check that fails), or None.

    In the order a trial runs them: TrainerConfig's validator (metta/rl/trainer_config.py:108-113),
    then the experience buffer (metta/rl/training/experience.py:41-49 agents, :61-67 minibatch
    segments, :73-83 minibatches) at a8d1ecee19.
    """
    if minibatch > batch or batch % minibatch:
        return f"minibatch_size {minibatch:,} must divide batch_size"
    segments = batch // bptt
    if agents > segments:
        return f"batch_size // bptt_horizon must be at least the rank's {agents:,} agents"
    if minibatch % bptt:
        return f"minibatch_size {minibatch:,} is not a multiple of bptt_horizon {bptt:,}"
    if segments % (minibatch // bptt):
        return "batch_size // bptt_horizon is not a multiple of minibatch_size // bptt_horizon"
    return None


def _searched(lo: float, hi: float) -> list[int]:
    """Every power of two a ``uniform_pow2`` batch can take in [lo, hi]."""
    out, b = [], 1
    while b <= hi:
        if b >= lo:
            out.append(b)
        b *= 2
    return out


@dataclass(frozen=True)
class _PairFailure:
    tag: str
    failing: list[int]
    searched: int
    reason: str


def _horizon_clause(
    cfg: ExperimentConfig, prof: MettaProfile, trainer: dict[str, Any], value: int, pinned: int
) -> str:
    """What a replaced BPTT horizon does to the batches each pair searches (", ..." or "")."""
    from ..search.presets import preset_for  # imported when asked: presets imports profiles.py
    from .command import positive_int

    minibatch = trainer.get("trainer.minibatch_size", MAIN_TRIAL_MINIBATCH)
    if not positive_int(minibatch):
        return ""  # the trial's config refuses it whatever the horizon
    minibatch = int(minibatch)
    pairs, _ = plan_of(cfg.grid)
    failures: list[_PairFailure] = []
    bound: int | None = None  # the largest horizon every pair's smallest batch leaves room for
    for pair in pairs:
        param = preset_for(cfg, pair).space[prof.keys["batch_size"]]
        batches = _searched(param.min, param.max)
        if not batches:
            continue
        agents = main_trial_agents(cfg.grid.cpus_per_node, pair.gpus)
        bound = min(bound, batches[0] // agents) if bound is not None else batches[0] // agents
        # only what the user's extras break: batches the pinned horizon at Metta's default
        # minibatch lets through (a minibatch extra's own failures are named here too)
        failing = [
            b
            for b in batches
            if main_trial_error(b, value, minibatch, agents)
            and not main_trial_error(b, pinned, MAIN_TRIAL_MINIBATCH, agents)
        ]
        if failing:
            reason = main_trial_error(failing[0], value, minibatch, agents) or ""
            failures.append(_PairFailure(pair.tag, failing, len(batches), reason))
    if not failures:
        return f", and every batch it searches still fits a trial at {value}" if pairs else ""
    listed = _listed(failures)
    fits = [h for h in range(1, (bound or 0) + 1) if minibatch % h == 0]
    accepted = f"no trainer.bptt_horizon extra (the profile's {pinned})"
    if fits:
        accepted = (
            f"a trainer.bptt_horizon up to {fits[-1]:,} that divides minibatch_size "
            f"{minibatch:,}, or " + accepted
        )
    return (
        f", but at {value} these searched batches fail at trial start: {listed}; "
        f"accepted: {accepted}"
    )


def _listed(failures: list[_PairFailure]) -> str:
    """'g1n1 524,288..1,048,576 (2 of 4; reason) and g2n1 ...'."""
    parts = []
    for f in failures:
        run = f.failing == [f.failing[0] << i for i in range(len(f.failing))]
        span = (
            f"{f.failing[0]:,}..{f.failing[-1]:,}"
            if run and len(f.failing) > 1
            else " / ".join(f"{b:,}" for b in f.failing)
        )
        count = (
            f"all {f.searched}"
            if len(f.failing) == f.searched
            else f"{len(f.failing)} of {f.searched}"
        )
        parts.append(f"{f.tag} {span} ({count}; {f.reason})")
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _minibatch_warning(
    cfg: ExperimentConfig, prof: MettaProfile, tok: str, value: int, bptt: int
) -> str | None:
    """What a trainer.minibatch_size extra does to the batches each pair searches at the pinned
    horizon (Metta main's trial checks, main_trial_error), or None when every batch still fits."""
    from ..search.presets import preset_for  # imported when asked: presets imports profiles.py

    failures: list[_PairFailure] = []
    smallest: int | None = None
    for pair in plan_of(cfg.grid)[0]:
        param = preset_for(cfg, pair).space[prof.keys["batch_size"]]
        batches = _searched(param.min, param.max)
        if not batches:
            continue
        smallest = batches[0] if smallest is None else min(smallest, batches[0])
        agents = main_trial_agents(cfg.grid.cpus_per_node, pair.gpus)
        # only what the user's minibatch breaks: batches Metta's default lets through
        failing = [
            b
            for b in batches
            if main_trial_error(b, bptt, value, agents)
            and not main_trial_error(b, bptt, MAIN_TRIAL_MINIBATCH, agents)
        ]
        if failing:
            reason = main_trial_error(failing[0], bptt, value, agents) or ""
            failures.append(_PairFailure(pair.tag, failing, len(batches), reason))
    if not failures or smallest is None:
        return None
    fits = f"a power of two from {bptt} up to {smallest:,}, or " if smallest >= bptt else ""
    return (
        f"extra argument {tok!r} sets trainer.minibatch_size = {value:,}, but at Metta "
        f"{prof.name}'s trainer.bptt_horizon = {bptt} these searched batches then fail at trial "
        f"start: {_listed(failures)}; accepted: a trainer.minibatch_size that is {fits}no "
        f"trainer.minibatch_size extra (Metta's {MAIN_TRIAL_MINIBATCH:,})"
    )


def pinned_key_warnings(cfg: ExperimentConfig, extra: Sequence[str]) -> list[str]:
    """One sentence per extra that replaces a trainer key the profile pins (profiles.py
    ``fixed_trainer``); for the BPTT horizon, which pairs' searched batches then fail a trial's
    start check and what is accepted."""
    if cfg.experiment.runner != "metta" or cfg.launch.command:
        return []
    prof = resolve_profile(cfg).profile
    if not prof.fixed_trainer or not extra:
        return []
    from .command import metta_tool, route_extras

    try:
        routed = route_extras(prof, metta_tool(cfg, prof), extra)
    except UsageError:
        return []  # building the command refuses it (exit 2) before any warning is shown
    out: list[str] = []
    for key, pinned in prof.fixed_trainer.items():
        if key not in routed.trainer or routed.trainer[key] == pinned:
            continue
        value = routed.trainer[key]
        tok = [t for t in extra if t.partition("=")[0] == key][-1]  # the last one wins
        sentence = (
            f"extra argument {tok!r} replaces {key} = {pinned}, which Metta {prof.name}'s profile "
            "pins so that every batch it searches fits a trial"
        )
        if key == "trainer.bptt_horizon" and isinstance(pinned, int):
            sentence += _horizon_clause(cfg, prof, routed.trainer, int(value), pinned)
        out.append(sentence)
    # a minibatch extra at the pinned horizon (with a replaced one, _horizon_clause says it)
    horizon = prof.fixed_trainer.get("trainer.bptt_horizon")
    minibatch = routed.trainer.get("trainer.minibatch_size")
    if (
        isinstance(horizon, int)
        and minibatch is not None
        and routed.trainer.get("trainer.bptt_horizon", horizon) == horizon
    ):
        tok = [t for t in extra if t.partition("=")[0] == "trainer.minibatch_size"][-1]
        sentence_or_none = _minibatch_warning(cfg, prof, tok, int(minibatch), horizon)
        if sentence_or_none:
            out.append(sentence_or_none)
    return out


def _python_path(text: str, parts: int) -> bool:
    """``text`` is dotted Python names: at least ``parts`` of them, or exactly one for 0."""
    names = text.split(".")
    if parts == 0 and len(names) != 1:
        return False
    return len(names) >= max(parts, 1) and all(n.isidentifier() for n in names)


# Metta's SkyPilot launch names each trial's task after its run id and validates it
# (devops/skypilot/launch.py:249-250 at a8d1ecee19, :250-251 at 7c1a7ff418); SkyPilot's task
# names allow at most two separators in a row: the same _VALID_NAME_REGEX in the skypilot that
# Metta pins, 0.11.1 at a8d1ecee19 (sky/task.py:32, :43-66) and 0.10.3 at 7c1a7ff418 (:35,
# :46-69), and in ours, 0.14.1 (:46, :57-80). Our experiment names (config.SKY_NAME_RE) allow any.
SKY_TASK_NAME_RE = re.compile(r"[a-zA-Z0-9]+(?:[._-]{1,2}[a-zA-Z0-9]+)*")


def metta_run_name(cfg: ExperimentConfig) -> str | None:
    """A run id Metta's sweep makes for the experiment's first pair, when its trials go to
    SkyPilot: ``<sweep>_trial_<NNNN>_<6 hex>`` (generate_run_id, metta/adaptive/utils.py:243-258);
    None when they run locally (Metta's local dispatcher names no task)."""
    if cfg.experiment.dispatcher != "skypilot" or cfg.metta.local_test:
        return None
    pairs, _ = plan_of(cfg.grid)
    if not pairs:
        return None
    return f"{pairs[0].sweep_name(cfg.name, cfg.generation)}_trial_0001_0a1b2c"


def launch_blockers(cfg: ExperimentConfig) -> list[str]:
    """Reasons the metta runner must not start (launch exits 2 with the first)."""
    if cfg.experiment.runner != "metta" or cfg.launch.command:
        return []
    out: list[str] = []
    repo = _repo(cfg)
    if repo is not None and not repo.is_dir():  # every pair's command runs there: none starts
        out.append(
            f"metta.repo {repo} is not a directory, and every pair's command runs in the Metta "
            "checkout, so none would start; accepted: the path of a Metta checkout (metta.repo, "
            "--metta-repo), or no metta.repo to run in the current directory"
        )
    elif repo is not None and not (repo / RUN_PY).is_file():  # uv run ./tools/run.py there
        out.append(
            f"metta.repo {repo} has no {RUN_PY}, which every pair's command runs there (uv run "
            f"./{RUN_PY} ...), so none would start; accepted: the path of a Metta checkout "
            "(metta.repo, --metta-repo), or no metta.repo to run in the current directory"
        )
    m = cfg.metta
    for key, value, parts, what, accepted in (
        (
            "metta.tool",
            m.tool,
            2,
            "tools/run.py could not import it and no pair would start",
            "a tool maker path like pkg.module.function, or empty for the profile's",
        ),
        (
            "metta.recipe_module",
            m.recipe_module,
            1,
            "no trial could import it",
            "a module path like recipes.prod.arena_basic_easy_shaped, or empty for the profile's",
        ),
        (
            "metta.train_entrypoint",
            m.train_entrypoint,
            0,
            "no trial could start",
            "the name of the recipe's training function, like train",
        ),
        (
            "metta.eval_entrypoint",
            m.eval_entrypoint,
            0,
            "no trial could be evaluated",
            "the name of the recipe's sweep evaluation function, like evaluate_in_sweep",
        ),
    ):
        if parts and not value:
            continue  # empty: the profile's
        if not _python_path(value, parts):
            out.append(f"{key} {value!r} is not a Python name, so {what}; accepted: {accepted}")
        elif key != "metta.tool" and not reads_back(value):
            # parse_value (run_tool.py:84-115 at a8d1ecee19, :88-119 at 7c1a7ff418) makes it a
            # bool, None or float; hw_sweep gets it as is (type_parse fails and the raw value is
            # kept, run_tool.py:554-565; :646-650 at 7c1a7ff418) and its SweepTool's str field
            # (metta/tools/sweep.py:138-140; :134-136) refuses it: "Error creating tool
            # configuration", exit 1 (:608-610; :692-696)
            out.append(
                f"{key} {value!r} would reach Metta as {read_as(value)}, not a name (tools/run.py "
                "reads true, false, none, null, nan, inf and infinity, in any case, as values), so "
                "hw_sweep's SweepTool refuses it and the sweep exits 1 before any trial; accepted: "
                f"{accepted.split(', or empty')[0]}, other than those words"
            )
    run_name = metta_run_name(cfg)
    if run_name is not None and not SKY_TASK_NAME_RE.fullmatch(run_name):
        out.append(
            f"experiment.name {cfg.name!r} makes trial run names like {run_name!r}, which "
            "Metta's SkyPilot launch refuses as a task name (SkyPilot allows at most two '.', "
            "'-' or '_' in a row), so no trial would start; accepted: a name without three of "
            "them in a row"
        )
    if cfg.wandb.mode != "online":  # every pair's command runs with WANDB_MODE set to it
        out.append(
            f"wandb.mode = {cfg.wandb.mode!r} with the metta runner: Metta's sweep keeps its "
            "trials in W&B and hwscale-tui reads them back from there, so with W&B "
            f"{cfg.wandb.mode} no trial would ever be seen; accepted: wandb.mode = "
            '"online" with runner = "metta"'
        )
    if not cfg.wandb.entity:
        out.append(
            "the metta runner needs a W&B entity, as upstream's own launcher required "
            "--wandb-entity (without one Metta's sweep store looks for its runs under entity "
            '"unconfigured" or your default entity); accepted: wandb.entity in the experiment file, '
            "--wandb-entity NAME, or WANDB_ENTITY in the environment"
        )
    return out


def _setting(cfg: ExperimentConfig, key: str) -> Any:
    section, name = key.split(".", 1)
    return getattr(getattr(cfg, section), name)


def experiment_warnings(cfg: ExperimentConfig, extra: Sequence[str] | None = None) -> list[str]:
    """``extra``: every extra argument of the plan (the file's ``[launch] extra_args`` and the
    command line's); None reads the file's alone."""
    if cfg.experiment.runner != "metta":
        return []
    w: list[str] = list(cfg.deprecations)
    resolved = resolve_profile(cfg)
    prof = resolved.profile
    repo = _repo(cfg)
    ours = ["sweep.transfer = true"] if cfg.sweep.transfer else []
    # set to anything but the default (every file `plan --save` writes spells the default out)
    if (
        "sweep.lr_batch_exponent" in cfg.explicit
        and cfg.sweep.lr_batch_exponent != LR_BATCH_EXPONENT
    ):
        ours.append("sweep.lr_batch_exponent")
    if ours:
        w.append(
            f"{', '.join(ours)} {'has' if len(ours) == 1 else 'have'} no effect with the metta "
            "runner: Metta's sweep suggests each pair's trials itself, blind to the other "
            'pairs (transfer is the built-in runner\'s: runner = "builtin")'
        )
    if cfg.launch.command:
        return w
    for b in launch_blockers(cfg):
        w.append(b + "; launch refuses to start")
    w += pinned_key_warnings(cfg, cfg.launch.extra_args if extra is None else extra)
    # Metta's quick test runs locally whatever dispatcher_type says (SweepTool.invoke,
    # metta/tools/sweep.py:172-182 at 7c1a7ff418, :183-192 at a8d1ecee19)
    remote = cfg.experiment.dispatcher == "skypilot" and not cfg.metta.local_test
    if cfg.wandb.entity and remote:
        project = cfg.wandb.effective_project
        if not wandb_env_forwarded(_task_yaml(cfg), cfg.wandb.entity, project):
            w.append(
                "Metta's SkyPilot launch forwards no WANDB_* variables, so remote trials log to "
                f"Metta's default W&B project, not {cfg.wandb.entity}/{project} where the sweep looks "
                f"for them; fix: add 'WANDB_ENTITY: {cfg.wandb.entity}' and 'WANDB_PROJECT: {project}' "
                f"under envs: in {(repo / SKYPILOT_TASK_YAML) if repo else SKYPILOT_TASK_YAML} "
                "of the Metta checkout"
            )
    if cfg.metta.local_test:
        w.append(
            "metta.local_test = true runs Metta's quick test: every trial trains on this machine "
            "(whatever experiment.dispatcher says) for 50,000 agent steps, not "
            f"sweep.total_timesteps = {cfg.sweep.total_timesteps:,}, without searching "
            "trainer.batch_size, so this is not a hardware comparison"
        )
    elif cfg.experiment.dispatcher == "local":
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
        # set to anything but the default: every file `plan --save` writes spells them out
        defaults = default_config("metta", env={})
        # sweep.acquisition_fn and sweep.max_suggestion_cost do reach it, as
        # protein_config.settings.<key>= (command.fom_settings)
        key = "grid.cpus_per_node"
        if key in cfg.explicit and _setting(cfg, key) != _setting(defaults, key):
            w.append(
                f"{key} cannot reach Metta fom-v1: its hw_sweep builds the search space itself, "
                "with batch bounds from the CPU count of the machine that runs the sweep; use "
                'metta.profile = "main" to send your own'
            )
    if repo is not None:
        if not repo.is_dir():
            pass  # a launch blocker, among the warnings above
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
            elif resolved.how == "set" and found is None:
                w.append(
                    f'metta.profile = "{prof.name}" but {repo} does not look like a Metta checkout '
                    "(it has neither recipes/prod/arena_basic_easy_shaped.py nor "
                    "experiments/adaptive/hardware_scaling/hw_sweep.py), and every pair's command "
                    "runs ./tools/run.py there; accepted: the path of a Metta checkout in metta.repo"
                )
            tool = cfg.metta.tool or prof.tool
            if tool_file(repo, tool) is None:
                how = (
                    f"run: hwscale-tui metta install-tool --repo {repo}"
                    # install-tool writes only into a checkout that looks like main (install.py)
                    if prof.installs_tool and not cfg.metta.tool and found == prof.name
                    else f"check out Metta {prof.commit} there or set metta.tool to one the checkout has"
                )
                w.append(f"Metta tool {tool} is not in {repo}; {how}")
            recipe = cfg.metta.recipe_module
            if recipe and _python_path(recipe, 1) and not recipe_found(repo, recipe):
                w.append(
                    f"metta.recipe_module {recipe} is not in {repo}, so every trial would fail "
                    f"to find {recipe}.{cfg.metta.train_entrypoint}; accepted: a module of the "
                    "checkout like recipes.prod.arena_basic_easy_shaped, or empty for the profile's"
                )
    else:
        w.append(
            "metta.repo is not set: commands run in the current directory, which must be a Metta checkout"
        )
    return w


# Each trial runs tools/run.py <recipe_module>.<entrypoint> (metta/adaptive/utils.py:192, 233 at
# a8d1ecee19), which imports the module directly or finds it in the recipe registry, under these
# prefixes for a short name (common/src/metta/common/tool/tool_path.py:90-118,
# recipe_registry.py:37-63; at 7c1a7ff418 tool_path.py:55-83, recipe_registry.py:34-58).
RECIPE_PREFIXES = ("", "recipes.prod.", "recipes.experiment.", "experiments.recipes.")


def recipe_found(repo: Path, recipe: str) -> bool:
    """Whether a recipe module is in the checkout, as itself or under a registry prefix."""
    return any(tool_file(repo, f"{prefix}{recipe}.train") is not None for prefix in RECIPE_PREFIXES)


def pair_warnings(cfg: ExperimentConfig, pair: HardwarePair) -> list[str]:
    if (
        cfg.experiment.runner != "metta"
        or cfg.experiment.dispatcher != "skypilot"
        or cfg.metta.local_test  # Metta's quick test runs every trial locally
    ):
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
