"""Which trials an analysis uses: one generation (never mixed), and in local mode only pairs
that fit the usable cores (unless asked), with notes that say so. Used by ``analyze`` and the
app's analysis screen alike."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Protocol

from ..config import ExperimentConfig
from ..errors import StoreError, UsageError
from ..hardware import (
    HardwarePair,
    experiment_of_sweep,
    oversubscribed,
    pair_from_sweep_name,
    pair_tag_of,
    plan_of,
    usable_cores,
)
from ..records import Trial, plural

IN_FLIGHT = ("queued", "running", "awaiting_eval")  # trials whose result is still to come


class AllOversubscribed(UsageError):
    """Local mode: every pair with trials has more CPU ranks than the usable cores (the command
    line's refusal; the app says it in its own words from ``pairs`` and ``cores``)."""

    def __init__(self, pairs: list[str], cores: int):
        self.pairs, self.cores = pairs, cores
        super().__init__(
            f"every pair with trials ({', '.join(pairs)}) has more CPU ranks than the {cores} "
            f"usable core{'' if cores == 1 else 's'}, so its times measure contention, not scaling; accepted: "
            "--allow-oversubscribed to analyze them anyway."
        )


def pick_generation(
    experiment: str, trials: list[Trial], wanted: int | None, of: str | None = None
) -> list[Trial]:
    """One generation's trials (the newest by default): trials of different generations ran
    under different comparability settings and are never analyzed together. ``of``: what
    the trials come from, when not the experiment's source (e.g. a CSV file's name)."""
    gen = wanted if wanted is not None else max((t.generation for t in trials), default=1)
    chosen = [t for t in trials if t.generation == gen]
    if not chosen:
        where = (
            f"{of} has no trials of generation {gen}"
            if of
            else (f"generation {gen} of experiment {experiment} has no trials yet")
        )
        raise UsageError(
            f"{where}; accepted: --generation "
            f"with one of {', '.join(str(g) for g in sorted({t.generation for t in trials}))}."
        )
    return chosen


def local_mode(
    cfg: ExperimentConfig,
    trials: list[Trial],
    allow_oversubscribed: bool,
    curved: Collection[str] | None = None,
    beside: Sequence[Trial] = (),
) -> tuple[list[Trial], list[str]]:
    """Local built-in runs measure CPU ranks: say so, leave oversubscribed pairs out unless
    asked, and say plainly when too few sizes remain for a scaling law. ``curved``: the run ids
    with a learning curve, when known: a size none of whose trials has one has no point on a
    law (its pair is left out of the analysis), so it is not counted among the sizes.
    ``beside``: other experiments' local trials (this machine's store): they took cores from
    the analyzed trials when they ran at the same time, which the contention note counts."""
    cores = usable_cores()
    usable = f"{cores} usable core{'' if cores == 1 else 's'}"
    notes = [
        f"Local mode: the pairs count CPU ranks, not GPUs (each rank is a process on this "
        f"machine's {usable}); costs use {cfg.price_label}."
    ]

    def ranks(t: Trial) -> int:
        if t.gpus and t.nodes:
            return int(t.gpus) * int(t.nodes)
        pair = pair_from_sweep_name(t.sweep)
        return pair.total_gpus if pair else 0

    every = trials  # the pairs left out below ran too: they took cores from the others
    over = sorted({pair_tag_of(t.sweep) for t in trials if ranks(t) > cores})
    its, it = ("its", "it") if len(over) == 1 else ("their", "them")
    if over and allow_oversubscribed:
        notes.append(
            f"{', '.join(over)} oversubscribed (more ranks than the {usable}) and kept "
            f"because --allow-oversubscribed was given: {its} times measure CPU contention, not "
            "scaling."
        )
    elif over:
        kept = [t for t in trials if ranks(t) <= cores]
        if not kept:
            raise AllOversubscribed(over, cores)
        notes.append(
            f"{', '.join(over)} left out: more CPU ranks than the {usable}, so {its} "
            f"times measure CPU contention, not scaling, and no recommendation is made from {it} "
            f"(--allow-oversubscribed keeps {it})."
        )
        trials = kept
    contention = contention_note([*every, *beside], trials, ranks, cores)
    if contention:
        notes.append(contention)
    # none with a curve yet (refused after these notes): every trial's size, as before
    sized = [t for t in trials if curved is None or t.run_id in curved] or trials
    sizes = sorted({ranks(t) for t in sized if ranks(t)})
    if len(sizes) < 3:
        shown = " and ".join(str(s) for s in sizes) or "no"
        noun = "rank" if sizes == [1] else "ranks"
        count = "1 size" if len(sizes) == 1 else f"{len(sizes)} sizes"
        notes.append(
            f"Only {count} ({shown} {noun}): too few for a scaling law (a law needs "
            "at least 3 sizes); compare the pairs directly and read any fitted law as not "
            "established."
        )
    return trials, notes


def other_experiments_trials(name: str) -> list[Trial]:
    """Other experiments' trials in this machine's store: those that ran at the same time as
    experiment ``name``'s took cores from them (``contention_note``; ``local_mode``'s
    ``beside``). [] when the store cannot be read (the analysis says what is wrong with it)."""
    import sqlite3

    from ..paths import app_paths
    from ..store import Store

    path = app_paths().store
    if not path.is_file():
        return []
    try:
        with Store(path, readonly=True) as st:
            return [t for t in st.trials() if experiment_of_sweep(t.sweep) != name]
    except (StoreError, sqlite3.Error, OSError):
        return []


def contention_note(
    every: Sequence[Trial],
    analyzed: Sequence[Trial],
    ranks: Callable[[Trial], int],
    cores: int,
) -> str | None:
    """Local mode: the analyzed trials that ran while other trials did with more ranks in all
    than the usable cores. Pairs that start together (``delay_s`` 0, or sweeps longer than the
    stagger) share this machine's cores, so a trial's time and steps per second measured the
    wait for a core, not the pair's scaling: g1n1's steps per second read 3.9k beside g2n1
    and g4n1 and 16k alone, and nothing said why. A trial's span is its record's
    ``created_at`` to ``updated_at``; one without both is not counted, nor one still queued
    (it takes no core), killed or stale (a trial whose runner died is recorded killed when a
    supervisor next looks, which can be long after it stopped)."""
    spans = [
        (float(t.created_at), float(t.updated_at), ranks(t), t)
        for t in every
        if t.created_at is not None
        and t.updated_at is not None
        and t.updated_at > t.created_at
        and t.state not in ("queued", "killed", "stale")
        and ranks(t)
    ]
    if len(spans) < 2:
        return None
    # ranks running at once: a step function over the spans' starts and ends
    events = sorted([(a, r) for a, _b, r, _t in spans] + [(b, -r) for _a, b, r, _t in spans])
    times: list[float] = []
    level: list[int] = []
    running = 0
    for when, change in events:
        running += change
        if times and times[-1] == when:
            level[-1] = running
        else:
            times.append(when)
            level.append(running)
    kept = {id(t) for t in analyzed}
    crowded: list[Trial] = []
    peak = 0
    for a, b, own, t in spans:
        if id(t) not in kept:
            continue
        i, j = bisect_right(times, a) - 1, bisect_left(times, b)
        most = max(level[max(i, 0) : max(j, i + 1)], default=0)
        # past the cores, and not by its own ranks alone (an oversubscribed pair's note)
        if most > max(cores, own):
            crowded.append(t)
            peak = max(peak, most)
    if not crowded:
        return None
    pairs = ", ".join(sorted({pair_tag_of(t.sweep) for t in crowded}))
    n, m = len(crowded), len(analyzed)
    usable = f"{cores} usable core{'' if cores == 1 else 's'}"
    # trials of other experiments among those beside them (another launch on this machine)
    own_experiments = {experiment_of_sweep(t.sweep) for t in analyzed}
    crowded_spans = [(a, b) for a, b, _o, t in spans if any(t is c for c in crowded)]
    others = sorted(
        {
            experiment_of_sweep(t.sweep)
            for a, b, _own, t in spans
            if experiment_of_sweep(t.sweep) not in own_experiments
            and any(a < d and c < b for c, d in crowded_spans)
        }
    )
    of_others = f", among them other experiments' ({', '.join(others)})" if others else ""
    return (
        f"Trials ran at the same time on this machine: {n} of {plural(m, 'analyzed trial')} "
        f"({pairs}) ran beside other trials{of_others}, up to {peak} ranks at once on the {usable}, so "
        f"{'its' if n == 1 else 'their'} times and steps per second include waiting for a core "
        "(contention), not the pair's scaling alone; "
        + (
            "run one experiment at a time on this machine (and its pairs one at a time: "
            "--sequential, with [sweep] max_parallel_jobs = 1) to measure each by itself."
            if others
            else "launch the pairs one at a time (--sequential, with [sweep] max_parallel_jobs "
            "= 1) to measure each by itself."
        )
    )


def generation_note(
    experiment: str,
    trials: list[Trial],
    all_count: int,
    of: str | None = None,
    another: str = "--generation N analyzes another",
) -> str:
    """Which generation's trials are analyzed; ``another``: how to pick another (the command
    line's flag, or the app's key)."""
    gen = trials[0].generation if trials else 1
    left = all_count - len(trials)
    counted = f"{len(trials)} trial{'' if len(trials) == 1 else 's'}"
    note = f"generation {gen} of {of or 'experiment ' + experiment} ({counted})"
    if left:
        note += (
            f"; {plural(left, 'trial')} of other generations left out (they ran under other "
            f"comparability settings; {another})"
        )
    return note


def newest_without_trials_note(
    cfg: ExperimentConfig, trials: list[Trial], wanted: int | None
) -> str | None:
    """When the newest generation (a relaunch) has no trials yet, the newest generation with
    trials is analyzed (``pick_generation``): say so. None when a generation was asked for."""
    if wanted is not None or not trials:
        return None
    gen, newest = trials[0].generation, getattr(cfg, "generation", 1)
    if gen >= newest:
        return None
    return (
        f"Generation {newest}, the newest, has no trials yet (its sweeps are starting, or ran "
        f"none): these are generation {gen}'s results."
    )


def progress_note(
    cfg: ExperimentConfig | None,
    trials: list[Trial],
    allow_oversubscribed: bool = False,
    ended: Collection[str] = (),
) -> str | None:
    """A note while the analyzed generation is not done: its trials still in flight and, for
    the newest generation, the experiment's pairs without any trial yet (scheduled, or not
    launched). None when neither: the analysis then stands as it is.

    ``trials``: those analyzed (after ``local_mode``); in local mode a pair with more ranks than
    usable cores is not waited for unless ``allow_oversubscribed``: the analysis leaves it out.
    ``ended``: tags of the newest generation's pairs whose sweeps ended (cancelled, exited,
    failed to start): a pair among them without trials will bring none, so it is not waited for.
    ``cfg`` None (trials read from a file): the trials in flight only, since which pairs were
    planned is the experiment's to say.
    """
    if not trials:
        return None
    in_flight = [t for t in trials if t.state in IN_FLIGHT]
    missing: list[str] = []
    if cfg is not None and trials[0].generation == cfg.generation:
        pairs, _ = plan_of(cfg.grid)
        present = {pair_tag_of(t.sweep) for t in trials}
        cores = usable_cores() if cfg.local_ranks and not allow_oversubscribed else 0
        missing = [
            p.tag
            for p in pairs
            if p.tag not in present
            and p.tag not in ended
            and not (cores and oversubscribed(p, cores))
        ]
    parts = []
    if in_flight:
        live = sorted({pair_tag_of(t.sweep) for t in in_flight})
        states = [t.state for t in in_flight]
        # a Metta trial whose training ended waits for its evaluation: not "running"
        what = (
            "awaiting evaluation"
            if all(s == "awaiting_eval" for s in states)
            else "still running"
            if "awaiting_eval" not in states
            else "still running or awaiting evaluation"
        )
        parts.append(f"{plural(len(in_flight), 'trial')} {what} ({', '.join(live)})")
    if missing:
        parts.append(f"no trials yet from {', '.join(missing)}")
    if not parts:
        return None
    return (
        f"Still in progress: {'; '.join(parts)}. These results will change; run the analysis "
        "again when the sweeps have finished."
    )


class PairState(Protocol):
    """A pair of the latest launch as ``launch.supervisor.pair_status`` reads it (its
    ``PairStatus``; the launch layer is above this one)."""

    @property
    def tag(self) -> str: ...
    @property
    def gpus(self) -> int: ...
    @property
    def nodes(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def exit_code(self) -> int | None: ...
    @property
    def trials_done(self) -> int | None: ...
    @property
    def max_trials(self) -> int | None: ...
    @property
    def generation(self) -> int: ...


class LaunchState(Protocol):
    """An experiment's latest launch as ``launch.supervisor.pair_status`` reads it."""

    @property
    def generation(self) -> int: ...
    @property
    def pairs(self) -> Sequence[PairState]: ...


def stopped_short(
    cfg: ExperimentConfig,
    trials: Sequence[Trial],
    read_status: Callable[[str], LaunchState],
    allow_oversubscribed: bool = False,
) -> list[tuple[str, str, int, int]]:
    """(tag, why, trials done, max trials) of the analyzed generation's pairs whose sweep ended
    before it ran its trials: killed or exited with an error, cancelled, failed to start (what
    status's progress line calls stopped short), for ``stopped_short_note``. Only for the newest
    generation, whose pairs the launch records (``read_status(experiment)``:
    ``launch.supervisor.pair_status``); [] when the store cannot say. Used by ``analyze`` and
    the app's analysis screen alike."""
    import sqlite3

    if not trials or trials[0].generation != cfg.generation:
        return []
    try:
        status = read_status(cfg.name)
    except (StoreError, OSError, sqlite3.Error):
        return []
    present = {pair_tag_of(t.sweep) for t in trials}
    cores = usable_cores() if cfg.local_ranks and not allow_oversubscribed else 0
    out = []
    for p in status.pairs:
        done, planned = p.trials_done, p.max_trials
        if p.generation != status.generation or done is None or planned is None or done >= planned:
            continue
        if p.status == "exited" and p.exit_code:  # 0: done; None: unknown (status says so)
            code = p.exit_code
            why = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        elif p.status in ("cancelled", "failed_to_start"):
            why = "was cancelled" if p.status == "cancelled" else "failed to start"
        else:
            continue
        # a pair the analysis leaves out (oversubscribed) is not one of its results
        if p.tag not in present and (
            done or (cores and oversubscribed(HardwarePair(p.gpus, p.nodes), cores))
        ):
            continue
        out.append((p.tag, why, done, planned))
    return out


def stopped_short_note(experiment: str, stopped: Sequence[tuple[str, str, int, int]]) -> str | None:
    """A note naming the pairs of the analyzed generation whose sweep ended before it ran its
    trials -- killed, exited with an error, cancelled, failed to start: ``stopped`` holds
    (tag, why, trials done, max trials) each. Their rows rest on fewer trials than planned (a
    pair killed after 1 of 8 is ranked beside pairs of 8), which only ``status`` said."""
    if not stopped:
        return None
    shown = "; ".join(
        f"{tag} {why} "
        + (f"after {done} of its" if done else "before any of its")
        + f" {plural(planned, 'trial')}"
        for tag, why, done, planned in stopped
    )
    one = len(stopped) == 1
    return (
        f"Stopped short: {shown}, so the analysis has fewer trials than planned of "
        f"{'it' if one else 'them'}; hwscale-tui launch --experiment-name {experiment} runs "
        "the rest."
    )


def transfer_note(trials: list[Trial]) -> str | None:
    """A note when some of ``trials`` were suggested with other pairs' results (``[sweep]
    transfer``): then the pairs' sweeps were not independent. From each trial's
    ``transfer_other`` (the built-in runner's record, kept by ``trials --csv``); None when none
    were, or when no trial's record says (other sources run no built-in optimizer)."""
    n = sum(1 for t in trials if t.transfer_other)
    if not n:
        return None
    # counted per trial: with transfer on, a pair's first trials come before any other pair's
    # result and are suggested from its own alone
    return (
        f"Transfer between pairs: {n} of {plural(len(trials), 'trial')} "
        f"{'was' if n == 1 else 'were'} suggested with other pairs' results too ([sweep] "
        "transfer = true), so the pairs' sweeps were not independent and their times, samples "
        "and costs to target are not those of independent sweeps (docs/optimizer.md)."
    )


def no_curve_note(n: int) -> str:
    """The analysis' note on its ``n`` trials without a learning curve."""
    has = "has" if n == 1 else "have"
    return f"{plural(n, 'trial')} {has} no learning curve yet (counted in n_trials, not in the estimates)"


def flagged_note(trials: Sequence[Trial]) -> str | None:
    """The analysis' note on its trials whose source flagged data problems (a score that is
    NaN or a string, a summary that is not JSON, ...; docs/sources.md, "Flags"): each bad value
    was read as unknown and the trial kept, which the analysis did not say. None when none."""
    flagged = [t for t in trials if t.flags]
    if not flagged:
        return None
    first = flagged[0]
    has = "has" if len(flagged) == 1 else "have"
    return (
        f"{len(flagged)} of {plural(len(trials), 'trial')} {has} data problems their source "
        f"flagged (first: {first.run_id}: {first.flags[0]}): each bad value is left out as "
        "unknown and the trial kept; hwscale-tui trials lists every one"
    )


def left_out_note(tags: Sequence[str], unread: Collection[str] = ()) -> str:
    """The analysis' note on the pairs ``tags`` none of whose trials has a curve, so that have
    no row; ``unread``: those among them whose every curve W&B could not give."""
    one = len(tags) == 1
    its = "its" if one else "their"
    if not unread:
        why = f"none of {its} trials has a learning curve yet"
    elif set(tags) <= set(unread):
        why = f"none of {its} trials' learning curves could be read"
    else:
        shown = ", ".join(t for t in tags if t in unread)
        why = f"none of {its} trials has a learning curve (those of {shown} could not be read)"
    return (
        f"{', '.join(tags)} left out: {why}, so {'it is' if one else 'they are'} not in the "
        "tables or the trial counts."
    )


UNREAD_COUNTED = "(counted in n_trials, not in the estimates)"


def count_unread_once(
    notes: list[str],
    without_curve: Sequence[str],
    unread: Mapping[str, Any] | None,
    left_out: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Count each trial without a curve in one note: those whose curve could not be read are
    the unread note's (:func:`unread_curves_note`), so the analysis' "no learning curve yet"
    note (``without_curve``: the run ids it counted) is recounted without them, or dropped.
    ``left_out``: the pairs without any curve (tag -> run ids), which have no row: the unread
    note claims no count for their trials, and the left-out note says which could not be read.
    """
    if not unread:
        return
    missed = set(unread["run_ids"])
    counted = no_curve_note(len(without_curve))
    if without_curve and counted in notes:
        rest = sum(1 for run_id in without_curve if run_id not in missed)
        at = notes.index(counted)
        if rest:
            notes[at] = no_curve_note(rest)
        else:
            del notes[at]
    left_out = left_out or {}
    hit = [tag for tag, ids in left_out.items() if any(r in missed for r in ids)]
    if not hit:
        return
    said = left_out_note(list(left_out))
    if said in notes:
        unread_pairs = [tag for tag in hit if all(r in missed for r in left_out[tag])]
        notes[notes.index(said)] = left_out_note(list(left_out), unread_pairs)
    one = len(hit) == 1
    nowhere = (
        f"{', '.join(hit)}'s, as {'that pair has' if one else 'those pairs have'} no other "
        "curve, are in no table or count"
    )
    shown = any(r in missed for r in without_curve)  # some are of pairs with a row
    for i, note in enumerate(notes):
        if note.startswith("Learning curves of ") and UNREAD_COUNTED in note:
            notes[i] = note.replace(
                UNREAD_COUNTED,
                f"{UNREAD_COUNTED[:-1]}; {nowhere})" if shown else f"({nowhere})",
            )


def unread_curves(
    trials: list[Trial],
    curves: Mapping[str, Sequence[object]],
    unread: Collection[str],
    reason: str | None,
) -> dict[str, Any] | None:
    """The trials among ``trials`` whose learning curve the source could not read (a W&B
    source's ``history_unread``, with ``history_error``, the first failure's reason), for the
    note and ``analyze --json``'s ``curves_unread``; None when every curve was read.
    ``older_cached``: how many of them are analyzed on an older cached curve instead."""
    missed = set(unread)
    run_ids = [t.run_id for t in trials if t.run_id in missed]
    if not run_ids:
        return None
    return {
        "trials": len(run_ids),
        "of": len(trials),
        "older_cached": sum(1 for r in run_ids if curves.get(r)),
        "reason": (reason or "unknown").rstrip("."),
        "run_ids": run_ids,
    }


def unread_curves_note(
    unread: Mapping[str, Any], where: str = "W&B", retry: str = "Run the analysis again to retry."
) -> str:
    """One note: how many trials' curves could not be read from ``where``, why, and what the
    analysis uses instead (``unread``: what :func:`unread_curves` returned); ``retry``: how to
    try again (the command line's words, or the app's key)."""
    n, older = int(unread["trials"]), int(unread["older_cached"])
    without = n - older
    if older == 0:
        instead = f"they are analyzed without one {UNREAD_COUNTED}"
    elif without == 0:
        instead = "they are analyzed on the older curves cached before"
    else:
        instead = (
            f"{older} analyzed on the older curve cached before, {without} without one "
            f"{UNREAD_COUNTED}"
        )
    return (
        f"Learning curves of {n} of {unread['of']} trials could not be read from {where} "
        f"({unread['reason']}): {instead}. {retry}"
    )
