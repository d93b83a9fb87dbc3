"""A W&B GraphQL server on 127.0.0.1 that the *real* ``wandb`` client talks to.

Tests, benchmarks and TUI demos point ``wandb.Api(overrides={"base_url": server.url})`` at it.
It answers the queries wandb 0.26 sends, in the shapes it sends them (captured from the
client: the login check ``{ viewer { id } }``, ``GetViewer``, ``GetDefaultEntity``, ``Runs``
with the full ``RunFragment``, ``Run``, ``RunSampledHistory``), paginates by cursor, and counts
requests per operation name so a test can assert "one request per poll". A query it does not
know is logged at ERROR level and kept in ``unknown`` so drift in the client shows up.

Faults on demand (``fail``): HTTP 429 with ``RateLimit-Reset``, HTTP 500, a dropped connection,
HTTP 200 with a web page, a ``Runs`` page with no runs that says more exist, HTTP 200 with a
GraphQL error.
Runs are plain data (:class:`LoopbackRun`) and may be malformed on purpose.

    with WandbLoopback(experiment_runs("hardware_scaling", ["g1n1", "g2n1"], 5)) as server:
        api = wandb.Api(overrides={"base_url": server.url}, api_key="x" * 40)

``python -m tests.support.wandb_loopback --sweeps 8 --trials 500`` serves a synthetic
project in its own process (for benchmarks), printing its URL; ``GET /_loopback/stats`` returns
the counts and ``POST /_loopback/advance {"runs": N}`` makes N running runs log one more step.
"""

from __future__ import annotations

import argparse
import base64
import collections
import contextlib
import datetime as dt
import json
import logging
import os
import random
import re
import socket
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_ENTITY = "loopback-entity"
DEFAULT_PROJECT = "hardware-scaling"
EPOCH0 = 1748736000.0  # 2025-06-01T00:00:00Z
_FRAGMENT_RE = re.compile(r"fragment\s+\w+\s+on\s+Run\s*\{")
_OP_RE = re.compile(r"^\s*(?:#graphql\s*)?(?:query|mutation)\s+([A-Za-z_][A-Za-z0-9_]*)")
_ANON_RE = re.compile(r"^\s*(?:query\s*)?\{\s*([A-Za-z_][A-Za-z0-9_]*)")


def iso(epoch: float) -> str:
    """Epoch seconds -> W&B's timestamp form (UTC, no zone suffix)."""
    return (
        dt.datetime.fromtimestamp(epoch, dt.UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    )


@dataclass
class LoopbackRun:
    """One run as the server stores it; ``raw_*`` send a field verbatim (malformed data)."""

    name: str
    group: str | None
    state: str = "running"
    config: Any = field(default_factory=dict)
    summary: Any = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    created_at: float = EPOCH0
    heartbeat_at: float | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    raw_summary: str | None = None
    raw_config: str | None = None
    user: str = "alice"
    _node: dict[str, Any] | None = field(
        default=None, repr=False, compare=False
    )  # built once per version

    def changed(self) -> None:
        """Call after editing fields in place (``update_run`` and ``advance`` do)."""
        self._node = None

    def last_step(self) -> int:
        steps = [r["_step"] for r in self.history if isinstance(r.get("_step"), int)]
        return max(steps) if steps else -1

    def node(self, project_id: int) -> dict[str, Any]:
        """The ``Runs`` edge node: ``projectId`` plus every field of wandb's ``RunFragment``."""
        if self._node is None:
            self._node = self._build_node(project_id)
        return self._node

    def _build_node(self, project_id: int) -> dict[str, Any]:
        if self.raw_config is not None:
            config = self.raw_config
        elif isinstance(self.config, dict):
            config = json.dumps({k: {"value": v, "desc": None} for k, v in self.config.items()})
        else:
            config = json.dumps(self.config)
        summary = self.raw_summary if self.raw_summary is not None else json.dumps(self.summary)
        return {
            "projectId": str(project_id),
            "id": f"run-{self.name}",
            "tags": list(self.tags),
            "name": self.name,
            "displayName": self.name,
            "sweepName": None,
            "state": self.state,
            "config": config,
            "group": self.group,
            "jobType": None,
            "commit": None,
            "readOnly": False,
            "createdAt": iso(self.created_at),
            "heartbeatAt": iso(
                self.heartbeat_at if self.heartbeat_at is not None else self.created_at
            ),
            "description": None,
            "notes": None,
            "systemMetrics": "{}",
            "summaryMetrics": summary,
            "historyLineCount": len(self.history),
            "user": {"name": self.user, "username": self.user},
            "historyKeys": {"lastStep": self.last_step(), "keys": {}},
        }


@dataclass
class Fault:
    kind: str  # "429" | "500" | "drop" | "html" | "empty" | "graphql"
    operation: str | None  # only requests of this operation (None: any GraphQL request)
    reset_s: float | None = None
    run: str | None = None  # only requests for this run (its name in the variables)
    retry_after: str | None = None  # a 429's Retry-After header, verbatim
    cursor: str | None = None  # only the Runs request for the page after this cursor
    message: str = "permission denied"  # a "graphql" fault's error message


class WandbLoopback:
    """The server; a context manager (``start``/``stop``). Thread-safe."""

    def __init__(
        self,
        runs: Iterable[LoopbackRun] = (),
        *,
        entity: str = DEFAULT_ENTITY,
        project: str = DEFAULT_PROJECT,
        max_page_size: int | None = None,
        api_key: str | None = None,
    ):
        self.entity, self.project = entity, project
        self.api_key = api_key  # when set, GraphQL requests with another key get HTTP 401
        self.max_page_size = max_page_size  # the server caps `first` like a real one may
        self.runs: dict[str, LoopbackRun] = {r.name: r for r in runs}
        self.counts: collections.Counter[str] = collections.Counter()
        self.unknown: list[str] = []
        self.requests: list[tuple[str, dict[str, Any]]] = []  # (operation, variables), in order
        self._faults: list[Fault] = []
        self._fields: set[str] | None = None  # Run fields the query being answered asked for
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._connections: set[socket.socket] = set()  # open client connections (stop closes them)
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> WandbLoopback:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="wandb-loopback",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the open (keep-alive) connections, as a server that goes away:
        without that, a client holding a connection would still be answered."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:
            connections, self._connections = list(self._connections), set()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> WandbLoopback:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the server first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def client_env(self, wandb_dir: str | os.PathLike[str], key: str = "k" * 40) -> dict[str, str]:
        """This process's environment for a child ``wandb`` client of this server: a key, the
        server's URL, no error reporting, and its files under ``wandb_dir``."""
        return dict(
            os.environ,
            WANDB_API_KEY=key,
            WANDB_BASE_URL=self.url,
            WANDB_ERROR_REPORTING="false",
            WANDB_DIR=str(wandb_dir),
        )

    # -- data and faults --------------------------------------------------------------------
    def add_runs(self, runs: Iterable[LoopbackRun]) -> None:
        with self._lock:
            self.runs.update((r.name, r) for r in runs)

    def update_run(self, name: str, **changes: Any) -> None:
        """Replace fields of a run; ``summary`` is merged into the existing one."""
        with self._lock:
            run = self.runs[name]
            if "summary" in changes and isinstance(run.summary, dict):
                run.summary = {**run.summary, **changes.pop("summary")}
            for key, value in changes.items():
                setattr(run, key, value)
            run.changed()

    def advance(self, name: str, *, agent_steps: float = 10_000.0, seconds: float = 30.0) -> None:
        """The run logs one more history row (score improves a little); summary and heartbeat move."""
        with self._lock:
            run = self.runs[name]
            last = (
                run.history[-1]
                if run.history
                else {"_step": -1, "_runtime": 0.0, "metric/agent_step": 0.0}
            )
            reward = float(last.get("overview/reward", 0.0)) + 0.01
            row = {
                "_step": last["_step"] + 1,
                "_runtime": last["_runtime"] + seconds,
                "metric/agent_step": last["metric/agent_step"] + agent_steps,
                "overview/reward": reward,
                "score": reward,
            }
            run.history.append(row)
            run.changed()
            run.heartbeat_at = run.created_at + row["_runtime"]
            if isinstance(run.summary, dict):
                run.summary.update(
                    {
                        "_step": row["_step"],
                        "_runtime": row["_runtime"],
                        "metric/agent_step": row["metric/agent_step"],
                        "metric/total_time": row["_runtime"],
                        "overview/reward": reward,
                    }
                )

    def fail(
        self,
        kind: str,
        *,
        times: int = 1,
        operation: str | None = "Runs",
        reset_s: float | None = None,
        run: str | None = None,
        retry_after: str | None = None,
        cursor: str | None = None,
        message: str = "permission denied",
    ) -> None:
        """The next ``times`` requests of ``operation`` get: ``"429"``, ``"500"``, ``"drop"``
        or ``"html"`` (HTTP 200 with a web page: what a ``WANDB_BASE_URL`` naming W&B's web app
        or a proxy's login page answers); with ``run``, only the requests for that run
        (``Run``, ``RunSampledHistory``, ...). A 429 carries ``RateLimit-Reset: reset_s`` and
        ``Retry-After: retry_after`` (seconds or an HTTP date) when given. ``"empty"`` (for
        ``Runs``): a page with no edges whose ``hasNextPage`` is true and whose ``endCursor`` is
        the cursor asked for -- what a paginated API may answer while runs are deleted or
        filtered out under it; asking again from that cursor gets the runs. With ``cursor``,
        only the request for the page after that cursor (``Runs`` cursors here are the index
        of a page's last run: "4" asks for the page from the 6th run). ``"graphql"``: HTTP 200
        with ``{"data": {"project": null}, "errors": [{"message": message, "path": ["project"]}]}``,
        what W&B answers a query it refuses (no access to the entity, say)."""
        kinds = ("429", "500", "drop", "html", "empty", "graphql")
        if kind not in kinds:
            raise ValueError(f"unknown fault {kind!r}; accepted: {', '.join(map(repr, kinds))}")
        with self._lock:
            self._faults += [
                Fault(kind, operation, reset_s, run, retry_after, cursor, message)
                for _ in range(times)
            ]

    def clear_faults(self) -> None:
        """Drop the faults not yet taken."""
        with self._lock:
            self._faults.clear()

    def reset_counts(self) -> None:
        with self._lock:
            self.counts.clear()
            self.requests.clear()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "counts": dict(self.counts),
                "unknown": list(self.unknown),
                "runs": len(self.runs),
            }

    def _take_fault(self, operation: str, variables: dict[str, Any]) -> Fault | None:
        with self._lock:
            for i, f in enumerate(self._faults):
                if (
                    f.operation in (None, operation)
                    and f.run in (None, variables.get("name"))
                    and f.cursor in (None, variables.get("cursor"))
                ):
                    return self._faults.pop(i)
        return None

    # -- GraphQL ----------------------------------------------------------------------------
    def note_unknown(self, what: str) -> None:
        log.error(
            "wandb loopback: unknown request %s -- the client changed? add it to the loopback server",
            what,
        )
        with self._lock:
            self.unknown.append(what)

    def answer(
        self, operation: str, variables: dict[str, Any], query: str = ""
    ) -> dict[str, Any] | None:
        handler: Callable[[dict[str, Any]], dict[str, Any]] | None = {
            "anonymous:viewer": self._viewer,
            "GetViewer": self._viewer,
            "GetDefaultEntity": self._viewer,
            "Viewer": self._viewer,
            "ServerInfo": self._server_info,
            "Runs": self._runs_page,
            "Run": self._one_run,
            "RunSampledHistory": self._sampled_history,
            "RunFullHistory": self._full_history,
        }.get(operation)
        if handler is None:
            return None
        with self._lock:
            self._fields = requested_run_fields(query)
            return handler(variables)

    def _node(self, run: LoopbackRun) -> dict[str, Any]:
        """The run as a node holding only the fields the query's Run fragment asked for."""
        node = run.node(1)
        if self._fields is None:
            return node
        missing = self._fields - set(node)
        if missing:
            self.note_unknown(f"Run fields {sorted(missing)}")
        return {k: v for k, v in node.items() if k in self._fields or k == "projectId"}

    def _viewer(self, _: dict[str, Any]) -> dict[str, Any]:
        return {
            "viewer": {
                "id": "VXNlcjox",
                "name": "Loopback",
                "username": "loopback",
                "email": "loopback@example.invalid",
                "admin": False,
                "flags": None,
                "entity": self.entity,
                "deletedAt": None,
                "apiKeys": {"edges": []},
                "teams": {"edges": [{"node": {"name": self.entity}}]},
            }
        }

    def _server_info(self, _: dict[str, Any]) -> dict[str, Any]:
        return {
            "serverInfo": {
                "cliVersionInfo": {"max_cli_version": "0.26.1"},
                "latestLocalVersionInfo": None,
            }
        }

    def _project_ok(self, v: dict[str, Any]) -> bool:
        return v.get("project") == self.project and v.get("entity") == self.entity

    def _named_run(self, v: dict[str, Any]) -> LoopbackRun | None:
        name = v.get("name")
        return self.runs.get(name) if name is not None else None

    def _runs_page(self, v: dict[str, Any]) -> dict[str, Any]:
        if not self._project_ok(v):
            return {"project": None}
        try:
            filters = json.loads(v.get("filters") or "{}")
        except ValueError:
            self.note_unknown(f"Runs filters that are not JSON: {v.get('filters')!r}")
            filters = {}
        matched = [r for r in self.runs.values() if self._matches(r, filters)]
        order = v.get("order") or "+created_at"
        sort_key = {
            "created_at": lambda r: (r.created_at, r.name),
            "heartbeat_at": lambda r: (r.heartbeat_at or r.created_at, r.name),
        }.get(order.lstrip("+-"))
        if sort_key is None:
            self.note_unknown(f"Runs order {order!r}")
        else:
            matched.sort(key=sort_key, reverse=order.startswith("-"))
        per_page = int(v.get("perPage") or 50)
        if self.max_page_size:
            per_page = min(per_page, self.max_page_size)
        start = int(v["cursor"]) + 1 if v.get("cursor") else 0
        page = matched[start : start + per_page]
        edges = [{"node": self._node(r), "cursor": str(start + i)} for i, r in enumerate(page)]
        return {
            "project": {
                "internalId": "UHJvamVjdDox",
                "runCount": len(matched),
                "readOnly": False,
                "runs": {
                    "edges": edges,
                    "pageInfo": {
                        "endCursor": edges[-1]["cursor"] if edges else None,
                        "hasNextPage": start + per_page < len(matched),
                    },
                },
            }
        }

    def _matches(self, run: LoopbackRun, flt: Any) -> bool:
        if not isinstance(flt, dict):
            self.note_unknown(f"Runs filter {flt!r}")
            return False
        for key, cond in flt.items():
            if key == "$and":
                ok = all(self._matches(run, c) for c in cond)
            elif key == "$or":
                ok = any(self._matches(run, c) for c in cond)
            elif key in ("group", "state", "name", "displayName", "tags"):
                value = {
                    "group": run.group,
                    "state": run.state,
                    "name": run.name,
                    "displayName": run.name,
                    "tags": run.tags,
                }[key]
                ok = self._compare(value, cond)
            else:
                self.note_unknown(f"Runs filter field {key!r}")
                ok = False
            if not ok:
                return False
        return True

    def _compare(self, value: Any, cond: Any) -> bool:
        values = value if isinstance(value, list) else [value]
        if not isinstance(cond, dict):
            return cond in values
        ok = True
        for op, arg in cond.items():
            if op == "$in":
                ok &= any(x in arg for x in values)
            elif op == "$nin":
                ok &= not any(x in arg for x in values)
            elif op == "$eq":
                ok &= arg in values
            elif op == "$ne":
                ok &= arg not in values
            else:
                self.note_unknown(f"Runs filter operator {op!r}")
                ok = False
        return ok

    def _one_run(self, v: dict[str, Any]) -> dict[str, Any]:
        if not self._project_ok(v):
            return {"project": None}
        run = self._named_run(v)
        return {"project": {"run": self._node(run) if run else None}}

    def _full_history(self, v: dict[str, Any]) -> dict[str, Any]:
        """``run.history(samples=N)`` without keys: up to N whole rows, each as JSON text."""
        if not self._project_ok(v):
            return {"project": None}
        run = self._named_run(v)
        if run is None:
            return {"project": {"run": None}}
        samples = int(v.get("samples") or 500)
        rows = run.history
        if len(rows) > samples:
            rows = [rows[round(i * (len(rows) - 1) / max(samples - 1, 1))] for i in range(samples)]
        return {"project": {"run": {"history": [json.dumps(r) for r in rows]}}}

    def _sampled_history(self, v: dict[str, Any]) -> dict[str, Any]:
        if not self._project_ok(v):
            return {"project": None}
        run = self._named_run(v)
        if run is None:
            return {"project": {"run": None}}
        out = []
        for raw in v.get("specs") or []:
            spec = json.loads(raw)
            keys, samples = spec.get("keys") or [], int(spec.get("samples") or 500)
            # W&B answers with the rows that hold *every* key asked for, not any of them
            # (wandb/wandb#2266, a maintainer: "we only return rows with _all_ instead of _any_
            # of the keys present"; #5391; the SDK's docs since wandb/wandb#12430)
            rows = [
                {k: r[k] for k in keys} for r in run.history if keys and all(k in r for k in keys)
            ]
            if len(rows) > samples:  # evenly spaced, first and last kept
                idx = (
                    sorted({round(i * (len(rows) - 1) / (samples - 1)) for i in range(samples)})
                    if samples > 1
                    else [len(rows) - 1]
                )
                rows = [rows[i] for i in idx]
            out.append(rows)
        return {"project": {"run": {"sampledHistory": out}}}


def requested_run_fields(query: str) -> set[str] | None:
    """Top-level field names of the query's ``fragment ... on Run { ... }``, or None without one."""
    m = _FRAGMENT_RE.search(query)
    if m is None:
        return None
    fields: set[str] = set()
    depth, i = 1, m.end()
    while i < len(query) and depth:
        ch = query[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif depth == 1 and (ch.isalpha() or ch == "_"):
            j = i
            while j < len(query) and (query[j].isalnum() or query[j] == "_"):
                j += 1
            fields.add(query[i:j])
            i = j
            continue
        i += 1
    return fields


def _operation_of(query: str) -> str:
    m = _OP_RE.match(query)
    if m:
        return m.group(1)
    m = _ANON_RE.match(query)
    return f"anonymous:{m.group(1)}" if m else "unparsed"


def _handler_for(server: WandbLoopback) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = (
            True  # else a keep-alive response waits ~40 ms on the client's delayed ACK
        )
        wbufsize = 1 << 16  # headers and body leave in one write

        def log_message(self, format: str, *args: Any) -> None:  # quiet; counts say what happened
            pass

        def setup(self) -> None:
            super().setup()
            with server._lock:
                server._connections.add(self.connection)

        def finish(self) -> None:
            with server._lock:
                server._connections.discard(self.connection)
            super().finish()

        def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/_loopback/stats":
                self._send(200, server.stats())
            else:
                server.note_unknown(f"GET {self.path}")
                self._send(404, {"error": "not found"})

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.startswith("/sdk/otel/"):  # newer clients post telemetry
                with server._lock:
                    server.counts["otel"] += 1
                self._send(200, {})
                return
            if self.path == "/_loopback/advance":
                _advance_some(server, int(json.loads(body or b"{}").get("runs", 1)))
                self._send(200, server.stats())
                return
            if self.path != "/graphql":
                server.note_unknown(f"POST {self.path}")
                self._send(404, {"error": "not found"})
                return
            try:
                payload = json.loads(body)
                query, variables = payload.get("query") or "", payload.get("variables") or {}
            except (ValueError, AttributeError):
                server.note_unknown(f"a body that is not GraphQL JSON: {body[:80]!r}")
                self._send(400, {"errors": [{"message": "bad request"}]})
                return
            operation = _operation_of(query)
            with server._lock:
                server.counts[operation] += 1
                server.requests.append((operation, variables))
            if server.api_key is not None and not self._key_ok(server.api_key):
                self._send(401, {"errors": [{"message": "user is not logged in"}]})
                return
            fault = server._take_fault(operation, variables)
            if fault is not None and fault.kind == "empty":
                cursor = variables.get("cursor")
                page = {"edges": [], "pageInfo": {"endCursor": cursor, "hasNextPage": True}}
                with server._lock:
                    count = len(server.runs)
                self._send(
                    200,
                    {
                        "data": {
                            "project": {
                                "internalId": "UHJvamVjdDox",
                                "runCount": count,
                                "readOnly": False,
                                "runs": page,
                            }
                        }
                    },
                )
                return
            if fault is not None:
                self._fault(fault)
                return
            data = server.answer(operation, variables, query)
            if data is None:
                server.note_unknown(f"GraphQL operation {operation}: {query[:120]!r}")
                self._send(
                    200,
                    {
                        "data": None,
                        "errors": [{"message": f"loopback: unknown operation {operation}"}],
                    },
                )
                return
            self._send(200, {"data": data})

        def _key_ok(self, key: str) -> bool:
            """W&B's HTTP basic auth: user ``api``, the key as password."""
            expected = "Basic " + base64.b64encode(f"api:{key}".encode()).decode()
            return self.headers.get("Authorization") == expected

        def _fault(self, fault: Fault) -> None:
            if fault.kind == "drop":
                self.close_connection = (
                    True  # no response at all: the client sees the connection drop
                )
                return
            if fault.kind == "429":
                headers = {"RateLimit-Limit": "100", "RateLimit-Remaining": "0"}
                if fault.reset_s is not None:
                    headers["RateLimit-Reset"] = f"{fault.reset_s:g}"
                if fault.retry_after is not None:
                    headers["Retry-After"] = fault.retry_after
                self._send(429, {"errors": [{"message": "rate limit exceeded"}]}, headers)
            elif fault.kind == "html":
                page = b"<!DOCTYPE html><html><body>Weights &amp; Biases</body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)
            elif fault.kind == "graphql":
                error = {"message": fault.message, "path": ["project"]}
                self._send(200, {"data": {"project": None}, "errors": [error]})
            else:
                self._send(500, {"errors": [{"message": "internal server error"}]})

    return Handler


def _advance_some(server: WandbLoopback, n: int) -> None:
    with server._lock:
        running = [r.name for r in server.runs.values() if r.state == "running"][:n]
        for name in running:
            server.advance(name)


# -- synthetic runs ---------------------------------------------------------------------------


def _curve(
    rng: random.Random,
    points: int,
    *,
    steps_per_point: float,
    seconds_per_point: float,
    ceiling: float,
) -> list[dict[str, Any]]:
    rows, reward = [], 0.0
    for i in range(points):
        reward += (ceiling - reward) * rng.uniform(0.05, 0.25)
        rows.append(
            {
                "_step": i,
                "_runtime": (i + 1) * seconds_per_point,
                "_timestamp": EPOCH0 + (i + 1) * seconds_per_point,
                "metric/agent_step": (i + 1) * steps_per_point,
                "overview/reward": round(reward, 6),
                "score": round(reward, 6),
            }
        )
    return rows


def _suggestion(rng: random.Random, total_gpus: int) -> dict[str, Any]:
    return {
        "trainer.batch_size": 2 ** rng.randint(19, 22) * total_gpus,
        "trainer.minibatch_size": 2 ** rng.randint(12, 15),
        "trainer.optimizer.learning_rate": round(10 ** rng.uniform(-5, -2), 8),
        "trainer.losses.ppo.clip_coef": round(rng.uniform(0.1, 0.4), 4),
        "trainer.losses.ppo.ent_coef": round(10 ** rng.uniform(-4, -1), 6),
    }


def make_run(
    sweep: str,
    index: int,
    *,
    style: str = "metta",
    state: str = "finished",
    history_points: int = 20,
    seed: int = 0,
    created_at: float | None = None,
) -> LoopbackRun:
    """A realistic run of ``sweep``: Metta's keys (config under ``TrainTool``, tag ``user:``) or
    ours (docs/architecture.md W&B key contract: tags ``hwscale`` + ``g<G>n<N>``, config ``hardware`` + params)."""
    if style not in ("metta", "builtin"):
        raise ValueError(f"unknown style {style!r}; accepted: 'metta', 'builtin'")
    rng = random.Random(f"{sweep}/{index}/{seed}")
    m = re.search(r"g(\d+)n(\d+)$", sweep)
    gpus, nodes = (int(m[1]), int(m[2])) if m else (1, 1)
    rows = _curve(
        rng,
        history_points,
        steps_per_point=rng.uniform(5e5, 2e6),
        seconds_per_point=rng.uniform(20, 60),
        ceiling=rng.uniform(0.5, 1.0),
    )
    last = (
        rows[-1]
        if rows
        else {"_step": 0, "_runtime": 0.0, "metric/agent_step": 0.0, "overview/reward": 0.0}
    )
    suggestion = _suggestion(rng, gpus * nodes)
    cost = round(6.88 * gpus * nodes * last["_runtime"] / 3600, 4)
    summary: dict[str, Any] = {
        "metric/agent_step": last["metric/agent_step"],
        "metric/total_time": last["_runtime"],
        "overview/sps": round(last["metric/agent_step"] / max(last["_runtime"], 1.0), 2),
        "overview/reward": last["overview/reward"],
        "sweep/suggestion": suggestion,
        "_step": last["_step"],
        "_runtime": last["_runtime"],
        "_timestamp": EPOCH0 + last["_runtime"],
    }
    if state == "finished":
        summary.update({"sweep/score": last["overview/reward"], "sweep/cost": cost})
    created = EPOCH0 + index * 60.0 if created_at is None else created_at
    name = f"{sweep}_trial_{index:04d}_{rng.getrandbits(24):06x}"
    if style == "metta":
        summary.update(
            {
                "evaluator/eval_sweep/score": summary.get("sweep/score"),
                "monitor/cost/accrued_total": cost,
                "training/status": "completed" if state == "finished" else "running",
                "has_started_eval": state == "finished",
            }
        )
        config: dict[str, Any] = {
            "TrainTool": {
                "trainer": {
                    "total_timesteps": 300_000_000,
                    "batch_size": suggestion["trainer.batch_size"],
                    "optimizer": {"learning_rate": suggestion["trainer.optimizer.learning_rate"]},
                },
                "run": name,
            }
        }
        tags = ["user:alice"]
    else:
        config = {"hardware": {"gpus": gpus, "nodes": nodes}, **suggestion}
        tags = ["hwscale", f"g{gpus}n{nodes}"]
    return LoopbackRun(
        name=name,
        group=sweep,
        state=state,
        config=config,
        summary=summary,
        tags=tags,
        created_at=created,
        heartbeat_at=created + last["_runtime"],
        history=rows,
    )


def experiment_runs(
    experiment: str,
    pairs: Iterable[str],
    trials_per_sweep: int,
    *,
    style: str = "metta",
    running_every: int = 0,
    history_points: int = 20,
    seed: int = 0,
) -> list[LoopbackRun]:
    """``trials_per_sweep`` runs for each pair tag (``g4n1``); every ``running_every``-th is still running."""
    runs = []
    for tag in pairs:
        for i in range(1, trials_per_sweep + 1):
            state = "running" if running_every and i % running_every == 0 else "finished"
            runs.append(
                make_run(
                    f"{experiment}.{tag}",
                    i,
                    style=style,
                    state=state,
                    history_points=history_points,
                    seed=seed,
                )
            )
    return runs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description="Serve a synthetic W&B project on 127.0.0.1 until stdin closes."
    )
    p.add_argument("--experiment", default="hardware_scaling")
    p.add_argument(
        "--sweeps", type=int, default=8, help="number of sweeps (pairs g1n1, g2n1, g4n1, ...)"
    )
    p.add_argument("--trials", type=int, default=500, help="runs per sweep")
    p.add_argument("--style", choices=("metta", "builtin"), default="metta")
    p.add_argument("--history-points", type=int, default=20)
    p.add_argument("--running-every", type=int, default=10, help="every Nth run is still running")
    args = p.parse_args(argv)
    tags = [f"g{g}n{n}" for n in (1, 2, 4, 8) for g in (1, 2, 4, 8)][: args.sweeps]
    runs = experiment_runs(
        args.experiment,
        tags,
        args.trials,
        style=args.style,
        running_every=args.running_every,
        history_points=args.history_points,
    )
    with WandbLoopback(runs) as server:
        print(server.url, flush=True)
        sys.stdin.read()  # serve until the parent closes our stdin
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


@contextlib.contextmanager
def metta_wandb_experiment(
    tmp_path: Any, monkeypatch: Any, runs: list[LoopbackRun] | None = None
) -> Iterator[tuple[WandbLoopback, Any, list[str]]]:
    """A Metta experiment file (W&B entity ``DEFAULT_ENTITY``) whose ``runs`` (default: 3 pairs
    x 4 runs of 30 history points) the loopback server holds, with the real client pointed at
    it (``monkeypatch``): ``(server, experiment file, run names in the order the trials are
    listed)``."""
    from hwscale_tui import config as cfgmod

    cfg = cfgmod.apply_overrides(cfgmod.default_config("metta"), {"wandb.entity": DEFAULT_ENTITY})
    experiment_file = cfgmod.save(cfg, tmp_path / "exp.toml")
    if runs is None:
        runs = experiment_runs("hardware_scaling", ["g1n1", "g2n1", "g4n1"], 4, history_points=30)
    order = [r.name for r in sorted(runs, key=lambda r: (r.group, r.created_at))]
    with WandbLoopback(runs) as server:
        for name, value in server.client_env(tmp_path / "wandb-dir").items():
            monkeypatch.setenv(name, value)
        yield server, experiment_file, order
