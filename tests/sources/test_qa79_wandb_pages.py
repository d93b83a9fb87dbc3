"""QA 79: a ``Runs`` page that brings no new run while W&B says more exist, with the real
wandb client against the loopback server.

wandb's paginator ended the list at such a page: a poll listed the runs before it and none after,
so the rest of the sweep vanished from ``trials`` and the trials screen as if deleted, with no
error (an empty first page showed an experiment with no trials at all). And a web page answered
mid-session (a proxy's login page) read as a JSONDecodeError."""

from __future__ import annotations

import pytest

from hwscale_tui import config as cfgmod
from hwscale_tui.sources import SourceSettings, SourceUnavailable, make_source
from hwscale_tui.sources.wandb_source import PAGES_WITHOUT_NEW_RUNS
from tests.support.wandb_loopback import DEFAULT_ENTITY, WandbLoopback, experiment_runs


@pytest.fixture
def server(tmp_path, monkeypatch):
    """12 runs of two sweeps; with ``page_size=5`` the list takes pages after cursors None, 4, 9."""
    runs = experiment_runs("hardware_scaling", ["g1n1", "g2n1"], 6)
    with WandbLoopback(runs) as s:
        for name, value in s.client_env(tmp_path / "wandb-dir").items():
            monkeypatch.setenv(name, value)
        yield s
        assert s.unknown == [], "the client sent requests the loopback server does not know"


def wandb_source(page_size: int):
    cfg = cfgmod.apply_overrides(
        cfgmod.default_config("metta"),
        {"wandb.entity": DEFAULT_ENTITY, "grid.gpu_counts": [1, 2], "grid.node_counts": [1]},
    )
    settings = SourceSettings(page_size=page_size, retry_sleep_s=0.01, stale_after_s=1e9)
    return make_source(cfg, "wandb", settings=settings)


def runs_cursors(server):
    return [v.get("cursor") for op, v in server.requests if op == "Runs"]


@pytest.mark.parametrize("after", [None, "4", "9"], ids=["first", "second", "last"])
def test_an_empty_page_while_more_exist_does_not_end_the_list(server, after):
    src = wandb_source(page_size=5)
    full = src.poll()
    assert len(full.trials) == 12 and runs_cursors(server) == [None, "4", "9"]
    server.reset_counts()
    server.fail("empty", operation="Runs", cursor=after)
    second = src.poll()
    assert [t.run_id for t in second.trials] == [t.run_id for t in full.trials]
    assert second.changed == set()
    # asked again from where the empty page was asked, not from the first page
    pages = [None, "4", "9"]
    i = pages.index(after)
    assert runs_cursors(server) == pages[: i + 1] + pages[i:]


def test_pages_that_never_bring_a_new_run_fail_the_poll_with_a_sentence(server):
    src = wandb_source(page_size=5)
    server.fail("empty", operation="Runs", cursor="4", times=PAGES_WITHOUT_NEW_RUNS)
    with pytest.raises(SourceUnavailable) as e:
        src.poll()
    assert e.value.reason == (
        "W&B's run list of loopback-entity/hardware-scaling stopped short: 3 pages in a row "
        "brought no new run although W&B said more exist (after 5 runs), so the list would be "
        "incomplete"
    )
    assert runs_cursors(server) == [None, "4", "4", "4"]
    assert len(src.poll().trials) == 12  # W&B answers again: every run is listed


def test_a_web_page_instead_of_a_graphql_reply_mid_session_says_so(server):
    """A proxy in front of W&B whose session expired answers every query with its login page
    (HTTP 200, HTML): the poll read "W&B query failed (JSONDecodeError: Expecting value: line 1
    column 1 (char 0))", and so did the curves' reason."""
    src = wandb_source(page_size=5)
    run_ids = [t.run_id for t in src.poll().trials]
    server.fail("html", operation=None, times=10)  # every attempt, the retry included
    with pytest.raises(SourceUnavailable) as e:
        src.poll()
    said = (
        f"W&B at {server.url} answered a GraphQL query with a web page, not JSON (such as a "
        "proxy's login or error page, or an address that is not W&B's API)"
    )
    assert e.value.reason == said
    assert src.histories(run_ids[:2]) == {} and src.history_error == said
    server.clear_faults()
    assert len(src.poll().trials) == 12


def test_a_graphql_error_reads_as_its_message(server):
    """W&B refusing a query (HTTP 200, ``errors``: no access to the entity, say) read "W&B query
    failed (Exception: {'message': 'permission denied', 'path': ['project']})"."""
    src = wandb_source(page_size=5)
    run_ids = [t.run_id for t in src.poll().trials]
    server.fail("graphql", operation=None, times=10, message="permission denied")
    with pytest.raises(SourceUnavailable) as e:
        src.poll()
    said = f"W&B at {server.url} answered the query with an error: permission denied"
    assert e.value.reason == said
    assert src.histories(run_ids[:1]) == {} and src.history_error == said
