"""The W&B source driving the real wandb client against the loopback GraphQL server."""

from __future__ import annotations

import json
import logging

import pytest

from hwscale_tui.config import apply_overrides, default_config
from hwscale_tui.sources import (
    Poller,
    SourceSettings,
    SourceUnavailable,
    make_source,
    make_wandb_api,
)
from tests.support.wandb_loopback import (
    DEFAULT_ENTITY,
    EPOCH0,
    LoopbackRun,
    WandbLoopback,
    experiment_runs,
    iso,
    make_run,
)

NOW = EPOCH0 + 200_000.0  # after every synthetic run's last heartbeat
LOGIN_OPS = {"anonymous:viewer", "GetViewer", "GetDefaultEntity"}


def experiment(runner: str = "metta", **overrides):
    cfg = default_config(runner)
    return apply_overrides(
        cfg,
        {
            "wandb.entity": DEFAULT_ENTITY,
            "grid.gpu_counts": [1, 2],
            "grid.node_counts": [1],
            **overrides,
        },
    )


@pytest.fixture(autouse=True)
def wandb_env(monkeypatch, tmp_path):
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)  # a dummy key; the loopback server accepts any
    monkeypatch.setenv(
        "WANDB_DIR", str(tmp_path / "wandb-dir")
    )  # the client makes a dir per run object
    monkeypatch.setenv("WANDB_ERROR_REPORTING", "false")  # no Sentry: nothing may leave the machine


@pytest.fixture
def server():
    runs = experiment_runs("hardware_scaling", ["g1n1", "g2n1"], 6, running_every=3)
    runs += experiment_runs("other_experiment", ["g1n1"], 3)  # must never be fetched
    with WandbLoopback(runs) as s:
        yield s
        assert s.unknown == [], "the client sent requests the loopback server does not know"


def wandb_source(server, cfg=None, *, clock=lambda: NOW, **settings):
    cfg = cfg or experiment()
    settings = {"retry_sleep_s": 0.01, "stale_after_s": 1e9, **settings}
    return make_source(
        cfg,
        "wandb",
        settings=SourceSettings(**settings),
        clock=clock,
        api_factory=lambda: make_wandb_api(
            base_url=server.url, entity=cfg.wandb.entity, timeout_s=30
        ),
    )


def non_login(counts) -> dict[str, int]:
    return {k: v for k, v in counts.items() if k not in LOGIN_OPS}


def test_one_runs_query_per_poll_for_all_sweeps_with_config_and_summary_inside(server):
    src = wandb_source(server)
    first = src.poll()
    assert non_login(server.counts) == {"Runs": 1}
    # the first poll's key check is a request it sent too: it said 1. It is sent once: the
    # client's own check while wandb.Api() is built is the same request (key_checked_by_probe)
    assert dict(server.counts) == {"anonymous:viewer": 1, "Runs": 1} and first.requests == 2
    _op, variables = [r for r in server.requests if r[0] == "Runs"][0]
    assert json.loads(variables["filters"]) == {
        "group": {"$in": ["hardware_scaling.g1n1", "hardware_scaling.g2n1"]}
    }
    assert len(first.trials) == 12 and first.changed == {t.run_id for t in first.trials}
    assert {t.sweep for t in first.trials} == {"hardware_scaling.g1n1", "hardware_scaling.g2n1"}

    server.reset_counts()
    second = src.poll()
    assert dict(server.counts) == {"Runs": 1} and second.requests == 1 and second.changed == set()
    assert second.trials == first.trials


def test_records_match_the_metta_runs_on_the_server(server):
    result = wandb_source(server).poll()
    by_id = {t.run_id: t for t in result.trials}
    for run in server.runs.values():
        if run.group == "other_experiment.g1n1":
            assert run.name not in by_id
            continue
        t = by_id[run.name]
        s = run.summary
        assert (t.gpus, t.nodes) == ((1, 1) if run.group.endswith("g1n1") else (2, 1))
        assert t.state == run.state and t.source == "wandb" and t.flags == []
        assert t.score == s.get("sweep/score")  # running Metta trials have no sweep/score yet
        assert t.cost_usd == s.get("sweep/cost", s["monitor/cost/accrued_total"])
        assert t.cost_usd is not None
        assert (t.agent_steps, t.runtime_s, t.sps) == (
            s["metric/agent_step"],
            s["metric/total_time"],
            s["overview/sps"],
        )
        assert t.params == s["sweep/suggestion"]
        assert t.created_at == pytest.approx(run.created_at) and t.updated_at == pytest.approx(
            run.heartbeat_at
        )


def test_pagination_follows_cursors_over_several_pages(server):
    src = wandb_source(server, page_size=5)
    result = src.poll()
    runs_requests = [v for op, v in server.requests if op == "Runs"]
    assert len(runs_requests) == 3 and result.requests == len(server.requests) == 4  # + key check
    assert [v["cursor"] for v in runs_requests] == [None, "4", "9"] and {
        v["perPage"] for v in runs_requests
    } == {5}
    assert len({t.run_id for t in result.trials}) == 12


def test_a_server_that_caps_page_size_is_still_read_completely(server):
    server.max_page_size = 4
    result = wandb_source(server).poll()
    assert server.counts["Runs"] == 3 and len(result.trials) == 12
    assert result.requests == len(server.requests) == 4  # and the key check


def test_every_request_a_source_sends_is_counted_the_key_checks_included(server):
    """`trials` said "1 request(s) this poll" where the first poll sent 3: our key check and
    the client's (while ``wandb.Api()`` is built; now skipped, it is the same request) were not
    counted. The count is taken where requests are sent, so whatever the client sends is in it
    (with wandb's error reporting on, its GetViewer too; the tests keep it off: nothing may
    leave the machine)."""
    src = wandb_source(server)
    first = src.poll()
    assert first.requests == len(server.requests) == 2
    server.reset_counts()
    assert src.poll().requests == len(server.requests) == 1
    server.reset_counts()
    server.fail("500", operation="RunSampledHistory")  # retried once: both attempts count
    src.histories([t.run_id for t in first.trials[:2]])
    assert len(server.requests) == 3 and src.counter.total == 2 + 1 + 3
    assert src.counter.by_kind == {"viewer": 1, "Runs": 2, "RunSampledHistory": 3}


def test_flush_between_polls_shows_changes_and_only_changed_runs_are_reported(server):
    src = wandb_source(server)
    first = {t.run_id: t for t in src.poll().trials}
    crashed, killed = sorted(first)[:2]
    server.update_run(crashed, state="crashed")
    server.update_run(killed, state="killed", summary={"sweep/score": 0.123})
    result = src.poll()
    by_id = {t.run_id: t for t in result.trials}
    assert result.changed == {crashed, killed}
    assert (by_id[crashed].state, by_id[killed].state, by_id[killed].score) == (
        "failed",
        "killed",
        0.123,
    )


def test_running_run_without_heartbeat_for_too_long_becomes_stale(server):
    running = [
        r
        for r in server.runs.values()
        if r.state == "running" and r.group.startswith("hardware_scaling")
    ]
    fresh = running[0]
    server.update_run(fresh.name, heartbeat_at=NOW - 60)
    result = wandb_source(server, stale_after_s=600).poll()
    states = {t.run_id: t.state for t in result.trials}
    assert states[fresh.name] == "running"
    assert all(states[r.name] == "stale" for r in running[1:])


def test_our_builtin_runs_normalize_to_the_same_record():
    runs = experiment_runs("hardware_scaling", ["g1n1", "g2n1"], 3, style="builtin")
    with WandbLoopback(runs) as server:
        result = wandb_source(server, experiment("builtin")).poll()
        by_id = {t.run_id: t for t in result.trials}
        for run in runs:
            t = by_id[run.name]
            assert t.score == run.summary["sweep/score"] and t.cost_usd == run.summary["sweep/cost"]
            assert (t.gpus, t.nodes) == (
                run.config["hardware"]["gpus"],
                run.config["hardware"]["nodes"],
            )
            assert t.params == run.summary["sweep/suggestion"] and t.flags == []
        assert server.unknown == []


def test_history_is_fetched_only_for_changed_runs_and_cached_on_disk(server):
    src = wandb_source(server)
    ids = [t.run_id for t in src.poll().trials]
    server.reset_counts()
    curves = src.histories(ids)
    assert dict(server.counts) == {"RunSampledHistory": len(ids)}
    spec = json.loads(server.requests[0][1]["specs"][0])
    # one wall-time key per request: W&B returns only the rows holding every key asked for
    assert spec["keys"] == ["_step", "overview/reward", "metric/agent_step", "_runtime"]
    run = server.runs[ids[0]]
    assert [(p.agent_step, p.wall_s, p.score) for p in curves[ids[0]]] == [
        (r["metric/agent_step"], r["_runtime"], r["overview/reward"]) for r in run.history
    ]

    server.reset_counts()
    assert src.histories(ids) == curves and dict(server.counts) == {}  # nothing changed: no request

    server.advance(ids[1])
    src.poll()
    server.reset_counts()
    again = src.histories(ids)
    assert dict(server.counts) == {"RunSampledHistory": 1}
    assert len(again[ids[1]]) == len(curves[ids[1]]) + 1 and again[ids[0]] == curves[ids[0]]

    reopened = wandb_source(server)  # a new process: the disk cache answers
    reopened.poll()
    server.reset_counts()
    assert reopened.histories(ids) == again and non_login(server.counts) == {}


def test_rows_without_runtime_get_their_curve_from_metric_total_time(server):
    """W&B returns only the rows holding every key asked for (wandb/wandb#2266; the loopback
    does the same): asked for ``_runtime`` and ``metric/total_time`` together, a run whose rows
    lack either gave no curve at all. Rows without ``_runtime`` (Metta's trainer logs
    ``metric/total_time``) cost one more request and keep their curve; rows with it, one."""
    src = wandb_source(server)
    ids = [t.run_id for t in src.poll().trials]
    rows = [
        {"_step": i, "metric/agent_step": 100.0 * (i + 1), "metric/total_time": 5.0 * (i + 1)}
        | {"overview/reward": 0.1 * i}
        for i in range(4)
    ]
    server.update_run(ids[0], history=rows)
    without_total = [{k: v for k, v in r.items() if k != "metric/total_time"} for r in rows]
    server.update_run(ids[1], history=[r | {"_runtime": 2.0 * r["_step"]} for r in without_total])
    src.poll()
    server.reset_counts()
    curves = src.histories(ids[:2])
    assert [(p.agent_step, p.wall_s, p.score) for p in curves[ids[0]]] == [
        (r["metric/agent_step"], r["metric/total_time"], r["overview/reward"]) for r in rows
    ]
    assert [p.wall_s for p in curves[ids[1]]] == [0.0, 2.0, 4.0, 6.0]
    assert dict(server.counts) == {"RunSampledHistory": 3}
    asked = [json.loads(v["specs"][0])["keys"][-1] for op, v in server.requests]
    assert asked == ["_runtime", "metric/total_time", "_runtime"]


def test_history_rows_missing_values_are_skipped_and_the_metric_is_configurable(server):
    src = wandb_source(server)
    run_id = src.poll().trials[0].run_id
    server.update_run(
        run_id,
        history=[
            {
                "_step": 0,
                "_runtime": 1.0,
                "metric/agent_step": 100.0,
                "score": 0.1,
                "overview/reward": 0.2,
            },
            {"_step": 1, "_runtime": 2.0, "metric/agent_step": 200.0, "score": "bad"},
            {"_step": 2, "metric/agent_step": 300.0, "score": 0.3},
            {"_step": 3, "_runtime": 4.0, "metric/agent_step": 400.0, "score": 0.4},
        ],
    )
    src.poll()
    assert [(p.agent_step, p.score) for p in src.histories([run_id], "score")[run_id]] == [
        (100.0, 0.1),
        (400.0, 0.4),
    ]


def test_429_is_not_retried_inside_the_poll_and_the_poller_honours_ratelimit_reset(server):
    now = [1000.0]
    src = wandb_source(server)
    poller = Poller(src, interval_s=5.0, clock=lambda: now[0], wall_clock=lambda: NOW + now[0])
    good = poller.poll_once()
    assert good is not None
    server.reset_counts()
    server.fail("429", reset_s=42)
    now[0] += 5.0
    assert poller.poll_once() is None
    st = poller.state
    assert dict(server.counts) == {"Runs": 1}  # the client did not retry the 429 by itself
    assert "429" in st.reason and st.backoff_s == 42 and st.next_due == now[0] + 42
    assert st.stale_since == NOW + now[0] and st.last_result is good
    now[0] += 41.0
    assert poller.poll_once() is None and server.counts["Runs"] == 1  # not due yet: no request
    now[0] += 1.0
    assert (
        poller.poll_once() is not None
        and poller.state.stale_since is None
        and poller.state.reason is None
    )


def test_a_single_500_is_retried_within_the_poll(server):
    src = wandb_source(server)
    src.poll()
    server.reset_counts()
    server.fail("500")
    result = src.poll()
    assert dict(server.counts) == {"Runs": 2} and result.requests == 2 and len(result.trials) == 12


@pytest.mark.parametrize("fault, words", [("500", "HTTP 500"), ("drop", "connection")])
def test_persistent_failures_make_the_source_unavailable_then_it_recovers(server, fault, words):
    src = wandb_source(server)
    server.fail(fault, times=2)
    with pytest.raises(SourceUnavailable) as err:
        src.poll()
    assert words in err.value.reason and err.value.retry_after_s is None
    assert server.counts["Runs"] == 2  # one bounded retry
    assert len(src.poll().trials) == 12


def test_malformed_runs_are_kept_flagged_and_counted(server):
    bad = [
        LoopbackRun(
            "bad_summary_list",
            "hardware_scaling.g1n1",
            "finished",
            raw_summary="[1, 2]",
            created_at=EPOCH0,
        ),
        LoopbackRun(
            "bad_summary_string",
            "hardware_scaling.g1n1",
            "running",
            raw_summary='"oops"',
            created_at=EPOCH0,
        ),
        LoopbackRun(
            "nan_score",
            "hardware_scaling.g2n1",
            "finished",
            summary={
                "sweep/score": float("nan"),
                "metric/agent_step": float("inf"),
                "overview/sps": "fast",
            },
        ),
        LoopbackRun(
            "bad_config",
            "hardware_scaling.g2n1",
            "running",
            raw_config="[1, 2, 3]",
            summary={"sweep/cost": "$3"},
        ),
        LoopbackRun("weird_state", "hardware_scaling.g2n1", "zombie"),
    ]
    server.add_runs(bad)
    result = wandb_source(server).poll()
    by_id = {t.run_id: t for t in result.trials}
    assert len(result.trials) == 12 + len(bad) and result.flagged == len(bad)
    assert any("summary is not a dict (list)" in f for f in by_id["bad_summary_list"].flags)
    assert any("summary is not a dict (str)" in f for f in by_id["bad_summary_string"].flags)
    nan = by_id["nan_score"]
    assert nan.score is None and nan.agent_steps is None and nan.sps is None and len(nan.flags) >= 3
    assert by_id["bad_config"].cost_usd is None and by_id["weird_state"].state == "stale"
    assert all(not t.flags for t in result.trials if t.run_id not in {r.name for r in bad})


def test_unknown_project_and_missing_key_are_reported_not_raised_through_the_poller(
    server, monkeypatch
):
    src = wandb_source(server, experiment(**{"wandb.project": "no-such-project"}))
    with pytest.raises(SourceUnavailable, match="no-such-project not found"):
        src.poll()
    monkeypatch.delenv("WANDB_API_KEY")
    poller = Poller(make_source(experiment(), "wandb"), interval_s=1.0, clock=lambda: 0.0)
    assert poller.poll_once() is None and "WANDB_API_KEY is not set" in poller.state.reason


def test_loopback_logs_unknown_queries_loudly(server, caplog):
    from wandb_gql import gql

    api = make_wandb_api(base_url=server.url, entity=DEFAULT_ENTITY)
    with caplog.at_level(logging.ERROR, logger="tests.support.wandb_loopback"):
        with pytest.raises(Exception):  # noqa: B017 -- any client error; the server log is what is checked
            api.client.execute(gql("query Mystery { mystery { id } }"))
    assert server.unknown and "Mystery" in server.unknown[0] and "unknown request" in caplog.text
    server.unknown.clear()


def test_make_run_shapes():
    metta = make_run("e.g4n2", 7, state="running")
    assert metta.group == "e.g4n2" and metta.tags == ["user:alice"] and "TrainTool" in metta.config
    assert "sweep/score" not in metta.summary and metta.name.startswith("e.g4n2_trial_0007_")
    ours = make_run("e.g4n2", 7, style="builtin")
    assert ours.config["hardware"] == {"gpus": 4, "nodes": 2} and "hwscale" in ours.tags
    assert iso(EPOCH0) == "2025-06-01T00:00:00"


def test_an_unreachable_or_limited_server_fails_the_first_poll_fast_then_it_connects(server):
    src = wandb_source(server)
    server.fail("429", operation="anonymous:viewer", reset_s=9)  # the login check is rate limited
    with pytest.raises(SourceUnavailable) as err:
        src.poll()
    assert err.value.retry_after_s == 9 and err.value.status == 429
    assert len(src.poll().trials) == 12


def test_history_failure_returns_the_older_cached_curve_and_says_why(server):
    src = wandb_source(server)
    run_id = src.poll().trials[0].run_id
    old = src.histories([run_id])[run_id]
    server.advance(run_id)
    src.poll()
    server.fail("500", times=2, operation="RunSampledHistory")
    assert src.histories([run_id]) == {run_id: old}
    assert "HTTP 500" in src.history_error
    assert len(src.histories([run_id])[run_id]) == len(old) + 1 and src.history_error is None


def test_curves_that_fail_in_part_are_listed_with_the_first_reason(server):
    """Some curves read, some not: only ``history_error`` said so, and the analysis used the
    rest as if nothing were missing. ``history_unread`` lists the runs whose curve could not
    be read, with or without an older cached curve; the next call retries them. One run W&B
    answers with an error for does not stop the others (it hid every curve after it)."""
    src = wandb_source(server)
    ids = [t.run_id for t in src.poll().trials]
    assert len(ids) == 12
    src.histories(ids[:2])  # cached; unchanged runs are served from the cache
    server.fail("500", times=1000, operation="RunSampledHistory", run=ids[5])
    server.reset_counts()
    curves = src.histories(ids)
    assert src.history_unread == [ids[5]] and "HTTP 500" in src.history_error
    assert [r for r in ids if curves.get(r)] == ids[:5] + ids[6:]
    assert server.counts["RunSampledHistory"] == 10 + 1  # ids[2:], and ids[5]'s retry
    # two cached runs logged more: one reads, then the next fails -> its older curve is used
    server.advance(ids[0])
    server.advance(ids[1])
    src.poll()
    server.fail("500", times=2, operation="RunSampledHistory", run=ids[1])
    curves = src.histories(ids[:2])
    assert src.history_unread == [ids[1]] and len(curves[ids[1]]) == 20  # the older one
    assert len(curves[ids[0]]) == 21
    server.clear_faults()  # ids[5]'s persistent fault: gone, every curve reads
    curves = src.histories(ids)
    assert src.history_unread == [] and src.history_error is None and all(curves.values())


@pytest.mark.parametrize(
    "kind, fetches, reason",
    [
        ("500", 3, "HTTP 500"),  # every run's request fails: 3 in a row, then no more
        ("429", 1, "rate limited"),  # W&B as a whole: the first failure stops the call
        ("drop", 1, "cannot reach W&B"),
    ],
)
def test_curves_stop_after_failures_of_wandb_as_a_whole(server, kind, fetches, reason):
    """Going on past one run's failure must not turn an outage into one failing request (and
    the client's retries) per run."""
    src = wandb_source(server)
    ids = [t.run_id for t in src.poll().trials]
    server.fail(kind, times=1000, operation="RunSampledHistory", reset_s=1.0)
    server.reset_counts()
    curves = src.histories(ids)
    assert curves == {} and src.history_unread == ids and reason in src.history_error
    per_fetch = 1 if kind == "429" else 2  # the client retries a 500 or a dropped link once
    assert server.counts["RunSampledHistory"] == fetches * per_fetch, server.counts


@pytest.mark.parametrize(
    "key, why",
    [
        ("short", "API key must have 40+ characters, has 5"),
        ("k" * 40 + "\n", "it starts or ends with whitespace"),
        ("k" * 40 + "\u20ac", "it has a character that is not ASCII"),
    ],
)
def test_a_malformed_key_is_refused_before_anything_is_sent(server, monkeypatch, key, why):
    """The client's own key checks ran after our probe had sent the key, and read as failed
    queries: "W&B refused the API key (API key must have 40+ characters, has 5.)", "W&B query
    failed (UsageError: API key cannot start or end with whitespace)", "W&B query failed
    (UnicodeEncodeError: 'latin-1' codec can't encode ...)"."""
    monkeypatch.setenv("WANDB_API_KEY", key)
    with pytest.raises(SourceUnavailable) as e:
        wandb_source(server).poll()
    assert e.value.reason.startswith(f"WANDB_API_KEY is malformed ({why}")
    assert e.value.reason.endswith("); nothing was sent to W&B") and key not in e.value.reason
    assert server.counts == {}


def test_a_wandb_base_url_that_is_not_a_url_says_so(monkeypatch):
    """It read "W&B query failed (ValidationError: 1 validation error for Settings)"."""
    monkeypatch.setenv("WANDB_BASE_URL", "notaurl")
    with pytest.raises(SourceUnavailable) as e:
        make_source(experiment(), "wandb").poll()
    assert e.value.reason.startswith("WANDB_BASE_URL 'notaurl' is not an http(s) URL; accepted:")


def test_a_wrong_or_revoked_key_is_refused_by_the_server_in_one_sentence(monkeypatch):
    runs = experiment_runs("hardware_scaling", ["g1n1"], 2)
    with WandbLoopback(runs, api_key="r" * 40) as server:
        with pytest.raises(SourceUnavailable, match=r"^W&B refused the API key \(HTTP 401\)$"):
            wandb_source(server).poll()  # the fixture's key is not the server's
        monkeypatch.setenv("WANDB_API_KEY", "r" * 40)
        src = wandb_source(server)
        assert len(src.poll().trials) == 2
        server.api_key = "z" * 40  # revoked while the app runs
        poller = Poller(src, interval_s=1.0, clock=lambda: 0.0)
        assert poller.poll_once() is None
        assert poller.state.reason == "W&B refused the API key (HTTP 401)"


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]"])
def test_a_finished_metta_run_whose_summary_cannot_be_read_stays_finished(server, raw):
    """Its empty summary was read as Metta's placeholder: the run W&B calls finished showed as
    `queued` (and `stale` once its heartbeat was old), as if it had never started."""
    server.add_runs(
        [LoopbackRun("unreadable", "hardware_scaling.g1n1", "finished", raw_summary=raw)]
    )
    by_id = {t.run_id: t for t in wandb_source(server).poll().trials}
    t = by_id["unreadable"]
    assert t.state == "finished" and t.score is None
    assert t.flags[0].startswith("summary is not") and "finished without a score" in t.flags
    stale = wandb_source(server, stale_after_s=60.0).poll().trials
    assert next(t for t in stale if t.run_id == "unreadable").state == "finished"


def test_a_server_that_goes_away_after_a_good_poll_fails_the_next_poll_in_one_sentence():
    """The loopback's stop() kept answering on the client's keep-alive connection, so a W&B
    that went away mid-session could not be shown: the next poll still succeeded."""
    with WandbLoopback(experiment_runs("hardware_scaling", ["g1n1"], 2)) as server:
        poller = Poller(wandb_source(server), interval_s=1.0, clock=lambda: 0.0)
        assert poller.poll_once() is not None
        url = server.url
        server.stop()
        assert poller.poll_once(force=True) is None
    assert poller.state.reason == f"cannot reach W&B at {url} (connection failed or dropped)"
    assert poller.state.stale and len(poller.state.last_result.trials) == 2


def test_an_experiment_with_no_pair_asks_wandb_nothing(server):
    """Every pair excluded: the poll sent the key checks and a Runs query filtered on an empty
    group list ({"$in": []}), whose meaning is the server's to decide; there is nothing to ask."""
    cfg = experiment(**{"grid.gpu_counts": [1], "grid.exclude": ["g1n1"]})
    src = wandb_source(server, cfg)
    assert src.sweeps == []
    result = src.poll()
    assert (result.trials, result.changed, result.flagged, result.requests) == ([], set(), 0, 0)
    assert server.requests == [] and src.histories(["hardware_scaling.g1n1_trial_0001"]) == {}


def test_a_wandb_base_url_that_answers_with_a_web_page_says_so_at_once(server):
    """A WANDB_BASE_URL naming a web server or a proxy's login page answers HTTP 200 with HTML: the probe passed it, and wandb.Api()'s key check then retried it for up
    to 7 days ("wandb: Network error (JSONDecodeError), entering retry loop."): `trials` hung."""
    server.fail("html", times=3, operation=None)  # bounded: without the check the poll
    # succeeds once the faults are used up, instead of hanging
    src = wandb_source(server)
    with pytest.raises(SourceUnavailable) as e:
        src.poll()
    assert e.value.reason == (
        f"{server.url} is not W&B's API: it answered a GraphQL query with a text/html page "
        "(HTTP 200); accepted: WANDB_BASE_URL set to the API's address (https://api.wandb.ai, "
        "or your server's), or unset"
    )
    assert server.counts == {"anonymous:viewer": 1}  # the probe alone


def test_a_curve_cache_that_cannot_be_written_loses_no_curve_and_blames_not_wandb(server, tmp_path):
    """A file where the cache directory belongs (or a full, read-only disk): each curve W&B
    had sent was reported "could not be read from W&B (W&B query failed (NotADirectoryError:
    ...))", the reads stopped after 3 such "failures", `trials --csv --history` printed nothing
    and `analyze` ran on 2 curves of 15."""
    (tmp_path / "blocked").write_text("a file, not a directory")
    cfg = experiment()
    src = make_source(
        cfg,
        "wandb",
        settings=SourceSettings(retry_sleep_s=0.01, stale_after_s=1e9),
        clock=lambda: NOW,
        cache_dir=tmp_path / "blocked" / "cache",
        api_factory=lambda: make_wandb_api(
            base_url=server.url, entity=cfg.wandb.entity, timeout_s=30
        ),
    )
    ids = [t.run_id for t in src.poll().trials]
    server.reset_counts()
    curves = src.histories(ids)
    assert (src.history_error, src.history_unread) == (None, [])
    assert dict(server.counts) == {"RunSampledHistory": len(ids)}
    assert all(len(curves[i]) == len(server.runs[i].history) > 0 for i in ids)
    server.reset_counts()
    assert src.histories(ids) == curves and dict(server.counts) == {}  # kept in memory


@pytest.mark.parametrize(
    "url, why",
    [
        (
            "{server}\n",
            "starts or ends with whitespace (such as a newline read from a file); nothing was "
            "sent to W&B",
        ),
        (
            " {server}",
            "starts or ends with whitespace (such as a newline read from a file); nothing was "
            "sent to W&B",
        ),
        (
            "https://wandb.ai",
            "is refused by the wandb client (https://wandb.ai is not a valid server address, did "
            "you mean https://api.wandb.ai?); nothing was sent to W&B",
        ),
        (
            "http://api.wandb.ai",
            "is refused by the wandb client (http is not secure, please use "
            "https://api.wandb.ai); nothing was sent to W&B",
        ),
    ],
)
def test_a_wandb_base_url_the_client_refuses_says_why(server, monkeypatch, url, why):
    """Each read "W&B query failed (ValidationError: 1 validation error for Settings)": the
    client's reason (its next lines) was cut off, and a URL with a newline passed our check."""
    url = url.format(server=server.url)
    monkeypatch.setenv("WANDB_BASE_URL", url)
    with pytest.raises(SourceUnavailable) as e:
        make_source(experiment(), "wandb").poll()
    assert e.value.reason == f"WANDB_BASE_URL {url!r} {why}"
    assert server.counts == {}


def test_a_429_whose_retry_after_is_an_http_date_is_waited_for(server):
    """RFC 9110 lets Retry-After be a date (what a proxy in front of W&B may send); it was
    ignored ("rate limited by W&B (HTTP 429)", no wait), and the poller retried after 10 s."""
    from email.utils import formatdate

    src = wandb_source(server)
    src.poll()
    server.fail("429", retry_after=formatdate(NOW + 90, usegmt=True))
    with pytest.raises(SourceUnavailable) as e:
        src.poll()
    assert (e.value.reason, e.value.retry_after_s) == (
        "rate limited by W&B (HTTP 429, reset in 90 s)",
        90.0,
    )
    server.fail("429", retry_after="120")  # the delay form, as before
    with pytest.raises(SourceUnavailable) as e:
        src.poll()
    assert e.value.retry_after_s == 120.0


def test_reading_curves_leaves_no_directory_per_run(server, tmp_path):
    """Each curve was read through a wandb `Run`, whose constructor makes an empty directory
    <entity>/<project>/<run id> under WANDB_DIR, else the system temp dir: analyzing a project
    of 9000 runs left 9000 empty directories in /tmp."""
    src = wandb_source(server)
    ids = [t.run_id for t in src.poll().trials]
    curves = src.histories(ids)
    assert all(len(curves[i]) == len(server.runs[i].history) > 0 for i in ids)
    wandb_dir = tmp_path / "wandb-dir"  # the fixture's WANDB_DIR
    assert not wandb_dir.exists() or list(wandb_dir.rglob("*")) == []


def test_a_wandb_base_url_with_no_graphql_endpoint_says_it_is_not_the_api(monkeypatch):
    """WANDB_BASE_URL ending in /graphql (the client adds it) read "W&B at <url> answered HTTP
    404", as if W&B had failed."""
    with WandbLoopback(experiment_runs("hardware_scaling", ["g1n1"], 2)) as server:
        url = f"{server.url}/graphql"
        monkeypatch.setenv("WANDB_BASE_URL", url)
        with pytest.raises(SourceUnavailable) as e:
            make_source(experiment(), "wandb").poll()
        assert server.unknown == ["POST /graphql/graphql"]  # the probe alone
    assert e.value.reason == (
        f"{url} is not W&B's API: {url}/graphql answered HTTP 404; accepted: WANDB_BASE_URL set "
        "to the API's address without /graphql (https://api.wandb.ai, or your server's), or unset"
    )


def test_https_to_a_server_without_tls_says_the_handshake_failed(server, monkeypatch):
    """It read "cannot reach W&B at https://... (connection failed or dropped)": the server
    was reachable; TLS was what failed."""
    url = server.url.replace("http://", "https://")
    monkeypatch.setenv("WANDB_BASE_URL", url)
    with pytest.raises(SourceUnavailable) as e:
        make_source(experiment(), "wandb").poll()
    assert e.value.reason.startswith(f"the TLS handshake with W&B at {url} failed (")
    assert e.value.reason.endswith("); a server that speaks plain HTTP needs an http:// URL")
    assert "WRONG_VERSION_NUMBER" in e.value.reason or "RECORD_LAYER" in e.value.reason
