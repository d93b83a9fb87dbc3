"""Trials from W&B through the real public API: one ``Runs`` query per poll for every sweep.

Per poll, wandb's ``Runs`` paginator sends the same query as ``api.runs(path, {"group": {"$in":
sweeps}}, lazy=False)`` -- config and summary come inside it, so there is no per-run
request (the N+1 trap of ``lazy=True``). A fresh paginator per poll means the Api object's run
cache (what ``api.flush()`` clears) is never used, so every poll sees current data. Curves are
fetched with the ``RunSampledHistory`` query of ``run.history(keys=...)`` only for runs whose last history
step moved since they were cached on disk.

``wandb`` is imported on the first poll, never at module import: the TUI polls from a thread
worker, so the ~2 s import and every request stay off the UI thread. The API key is read only
from ``WANDB_API_KEY``. The client's own retry loop (20 s of exponential retries, 429 included)
is replaced by a bounded one that never retries 429, so a poll fails fast and the
:class:`~hwscale_tui.sources.poller.Poller` backs off honouring ``RateLimit-Reset``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from ..config import ExperimentConfig
from ..records import HistoryPoint, Trial
from .base import (
    PollResult,
    RequestCounter,
    SourceSettings,
    SourceUnavailable,
    current_record,
    diff_trials,
    experiment_sweeps,
    finite_number,
    record_order,
)
from .history_cache import HistoryCache
from .wandb_normalize import AGENT_STEP_KEY, WandbRunData, normalize_wandb_run

RUNTIME_HISTORY_KEY = "_runtime"
TOTAL_TIME_HISTORY_KEY = "metric/total_time"


def make_wandb_api(
    *, base_url: str | None = None, entity: str | None = None, timeout_s: float = 20.0
) -> Any:
    """A ``wandb.Api`` with the key from ``WANDB_API_KEY`` only (never a prompt, never a file).

    ``base_url`` defaults to the client's own (``WANDB_BASE_URL``, else api.wandb.ai). Giving
    ``entity`` saves the client a default-entity lookup. The server is probed first with one
    bounded request: ``wandb.Api()`` checks the key with a retry loop that lasts up to 7 days
    on connection errors, which would hang a poll while W&B is unreachable.
    """
    key = os.environ.get("WANDB_API_KEY")
    if not key:
        raise SourceUnavailable(
            "WANDB_API_KEY is not set; the W&B source reads the key only from the environment"
        )
    refused = environment_problem(base_url=base_url)
    if refused is not None:
        raise SourceUnavailable(refused[0])
    import requests
    import wandb
    from wandb.apis import InternalApi

    url = (base_url or InternalApi().settings("base_url")).rstrip("/")
    shown = shown_url(url)  # what messages say: never a password in the URL
    try:
        probe = requests.post(
            f"{url}/graphql",
            json={"query": "query { viewer { id } }"},
            auth=("api", key),
            timeout=timeout_s,
        )
        if probe.status_code in (404, 405):  # no GraphQL endpoint there: a wrong address,
            # such as one ending in /graphql (the client adds it) or a web server's root
            raise SourceUnavailable(
                f"{shown} is not W&B's API: {shown}/graphql answered HTTP {probe.status_code}; "
                "accepted: WANDB_BASE_URL set to the API's address without /graphql "
                "(https://api.wandb.ai, or your server's), or unset",
                status=probe.status_code,
            )
        probe.raise_for_status()
    except requests.RequestException as e:
        raise unavailable_from(e, where=shown, now=time.time()) from e
    problem = not_graphql_reply(probe)
    if problem is not None:
        # wandb.Api()'s own key check would retry such an answer for up to 7 days
        # ("wandb: Network error (JSONDecodeError), entering retry loop.")
        raise SourceUnavailable(
            f"{shown} is not W&B's API: it answered a GraphQL query with {problem}; accepted: "
            "WANDB_BASE_URL set to the API's address (https://api.wandb.ai, or your server's), "
            "or unset"
        )
    no_user = viewer_refusal(probe)
    if no_user is not None:  # what wandb's key check refused, said at once
        raise SourceUnavailable(f"W&B refused the API key ({no_user})", status=401)
    overrides = {"base_url": url, **({"entity": entity} if entity else {})}
    with key_checked_by_probe(key, url):
        # wandb annotates timeout as int but hands it to requests, which takes float seconds.
        return wandb.Api(overrides=overrides, api_key=key, timeout=cast(int, timeout_s))


def viewer_refusal(probe: Any) -> str | None:
    """Why a GraphQL answer to the key probe (``query { viewer { id } }``) is no valid key, else
    None: wandb's own check (``InternalApi.validate_api_key``) takes a ``viewer`` of null for a
    key the server does not know, and a GraphQL error for a failed check."""
    body = probe.json()
    data = body.get("data") if isinstance(body, dict) else None
    if isinstance(data, dict) and data.get("viewer") is not None:
        return None
    errors = body.get("errors") if isinstance(body, dict) else None
    first = errors[0] if isinstance(errors, list) and errors else None
    message = first.get("message") if isinstance(first, dict) else None
    if isinstance(message, str) and message.strip():
        return f"its key check answered: {message.strip()[:120]}"
    return "its key check answered no user for it"


_build_lock = threading.Lock()


@contextlib.contextmanager
def key_checked_by_probe(key: str, url: str) -> Iterator[None]:
    """While ``wandb.Api(api_key=key)`` is built for ``url``: no request of it retries.

    ``Api.__init__`` sends two requests through wandb's own retry loops before any hook of ours
    can be installed (:func:`install_request_hooks`):

    - its key check, ``wandb_login._verify_login``: the same ``query { viewer { id } }`` our probe
      has just sent and checked (:func:`make_wandb_api`), inside ``InternalApi``'s retry loop,
      which retries a 5xx, a 429 or a dropped connection for up to 7 days (``retry_timedelta``,
      wandb/sdk/internal/internal_api.py in wandb 0.26). It is not sent again; any other key or
      server is checked by wandb as before.
    - with error reporting on (``WANDB_ERROR_REPORTING`` not ``false``), ``_configure_sentry``'s
      ``GetViewer``, retried for 20 s (``RETRY_TIMEDELTA``, wandb/apis/public/const.py); its
      errors only leave error reporting unconfigured, so it is sent once.

    A W&B that answered the probe and then failed those requests held the first poll (and
    ``trials``) for as long, printing "wandb: Network error ..., entering retry loop."."""
    try:
        from wandb.apis.public import api as public_api
        from wandb.sdk import wandb_login
    except ImportError:  # another wandb layout: nothing to bound
        yield
        return
    original_verify = getattr(wandb_login, "_verify_login", None)
    original_sentry = public_api.Api.__dict__.get("_configure_sentry")

    def verify_login(*args: Any, **kwargs: Any) -> None:
        bound = dict(zip(("key", "base_url"), args), **kwargs)
        if bound.get("key") == key and str(bound.get("base_url", "")).rstrip("/") == url:
            return  # the probe checked exactly this, with one bounded request
        assert original_verify is not None
        original_verify(*args, **kwargs)

    def configure_sentry(api: Any) -> None:
        retrying: Any = getattr(api, "_client", None)
        transport_client = getattr(retrying, "_client", None)
        assert original_sentry is not None
        if transport_client is None or not hasattr(retrying, "_execute_decorated"):
            original_sentry(api)
            return
        saved = retrying._execute_decorated
        retrying._execute_decorated = transport_client.execute  # one attempt
        try:
            original_sentry(api)
        finally:
            retrying._execute_decorated = saved

    with _build_lock:
        if original_verify is not None:
            wandb_login._verify_login = verify_login
        if original_sentry is not None:
            public_api.Api._configure_sentry = configure_sentry  # type: ignore[method-assign,assignment]
        try:
            yield
        finally:
            if original_verify is not None:
                wandb_login._verify_login = original_verify
            if original_sentry is not None:
                public_api.Api._configure_sentry = original_sentry  # type: ignore[method-assign]


KEY_ACCEPTED = "the key as https://wandb.ai/authorize shows it (40 or more letters, digits or _)"
URL_ACCEPTED = "the URL of a W&B server, like https://api.wandb.ai, or WANDB_BASE_URL unset"


def environment_problem(*, base_url: str | None = None) -> tuple[str, str | None] | None:
    """What is wrong with ``WANDB_API_KEY`` / ``WANDB_BASE_URL`` as set (a malformed key, a
    URL the client refuses), as one sentence without a final stop, and what is accepted (None:
    the sentence says it); None when nothing is wrong. Nothing is sent. A key that is not set is not a problem here (the callers
    say that in their own words).

    These are the user's input: the CLI refuses them with exit code 2, a poll shows them as
    its reason."""
    key = os.environ.get("WANDB_API_KEY")
    problem = api_key_problem(key) if key else None
    if problem is not None:
        return f"WANDB_API_KEY is malformed ({problem}); nothing was sent to W&B", KEY_ACCEPTED
    env_url = os.environ.get("WANDB_BASE_URL")
    if base_url is not None or env_url is None:
        return None
    if not is_http_url(env_url):
        return (
            f"WANDB_BASE_URL {shown_url(env_url)[:80]!r} is not an http(s) URL; accepted: a URL like "
            "https://api.wandb.ai, or unset it for W&B's own",
            None,
        )
    if env_url != env_url.strip():
        return (
            f"WANDB_BASE_URL {shown_url(env_url)[:80]!r} starts or ends with whitespace (such as a newline "
            "read from a file); nothing was sent to W&B",
            "the URL alone",
        )
    refused = base_url_refusal(env_url)
    if refused is not None:
        return (
            f"WANDB_BASE_URL {shown_url(env_url)!r} is refused by the wandb client ({refused}); nothing "
            "was sent to W&B",
            URL_ACCEPTED,
        )
    return None


def base_url_refusal(url: str) -> str | None:
    """Why the wandb client refuses ``url`` as its base URL (its own settings check), else None.

    The check ran inside the client, and its error read "W&B query failed (ValidationError: 1
    validation error for Settings)": the first line, without the reason (such as "https://wandb.ai
    is not a valid server address, did you mean https://api.wandb.ai?")."""
    try:
        from wandb.sdk.wandb_settings import Settings
    except ImportError:  # another wandb layout: the client checks the URL itself
        return None
    try:
        Settings(base_url=url)
    except ValueError as e:  # pydantic's ValidationError
        errors = e.errors() if callable(getattr(e, "errors", None)) else []  # type: ignore[attr-defined]
        why = str(errors[0].get("msg", "")) if errors else str(e).splitlines()[0]
        return why.removeprefix("Value error, ").rstrip(". ")[:160]
    return None


def not_graphql_reply(response: Any) -> str | None:
    """What a successful answer to the key probe is, when it is not a GraphQL reply (a JSON
    object with ``data`` or ``errors``), else None: a web page (a proxy's login page, a web
    server's home page) answers HTTP 200 too."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and ("data" in body or "errors" in body):
        return None
    kind = (response.headers.get("Content-Type") or "").split(";")[0].strip() or "no content type"
    what = "JSON that is not a GraphQL reply" if body is not None else f"a {kind} page"
    return f"{what} (HTTP {response.status_code})"


def api_key_problem(key: str) -> str | None:
    """Why the wandb client would refuse ``key`` (its own format check), else None.

    The client checks the key only after our probe sent it, and its errors read like failed
    queries ("W&B query failed (UsageError: API key cannot start or end with whitespace)");
    a key with a character outside Latin-1 failed inside ``requests`` (UnicodeEncodeError).
    """
    if key != key.strip():
        return "it starts or ends with whitespace, such as a pasted newline or a CRLF line end"
    if not key.isascii():
        return "it has a character that is not ASCII"
    try:
        from wandb.sdk.lib.wbauth.validation import check_api_key
    except ImportError:  # another wandb layout: the client checks the key itself
        return None
    problem = check_api_key(key)
    return problem.rstrip(". ") if problem else None


_USERINFO_RE = re.compile(r"^(\s*(?:[a-zA-Z][a-zA-Z0-9+.-]*:)?//)?[^/@\s]*@")
_ANY_USERINFO_RE = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]*@")


def shown_url(text: str) -> str:
    """A W&B URL as messages show it: its user and password (``https://user:pw@host``, a proxy's
    basic auth; the wandb client accepts them) replaced by ``***``. The reasons of a poll end up
    on screen, on stderr and in files (``analyze --report`` and ``--json`` notes), and secrets
    travel only in the environment."""
    return _USERINFO_RE.sub(lambda m: (m.group(1) or "") + "***@", text, count=1)


def is_http_url(text: str) -> bool:
    """``text`` is an ``http://`` or ``https://`` URL with a host (what the wandb client accepts)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text.strip())
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def release_console_writes() -> None:
    """Undo what importing ``wandb`` does to ``sys.stdout`` and ``sys.stderr``.

    ``wandb.sdk.lib.console_capture`` replaces the ``write`` method of both streams on import
    with a wrapper that enters three context managers per call (for ``wandb.init``'s console
    capture, which reading runs never uses). Every later write pays for it: ``trials --json``
    of 4000 runs makes ~400,000 small writes and took 3-4 s instead of ~1 s, and the app's
    frames go out through the same wrapped stream. The wrapper is an instance attribute, so
    deleting it gives the stream its own ``write`` back; a ``write`` set by anyone else is left.
    """
    import sys

    streams = (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)
    for stream in {id(s): s for s in streams if s is not None}.values():
        own = getattr(stream, "__dict__", {}).get("write")
        if getattr(own, "__name__", "") == "write_with_callbacks":
            with contextlib.suppress(AttributeError):
                del stream.write


_counting = threading.local()  # .counter: the RequestCounter of the read this thread is making
_counting_installed = threading.Lock()
_counting_hook: list[Any] = []  # the installed wrapper, once


def graphql_operation(body: Any) -> str:
    """The operation name in a GraphQL request body (``Runs``, ``viewer`` for ``{ viewer ..}``),
    read from its first bytes; ``http`` for a body that is not one."""
    head = body[:300] if isinstance(body, (bytes, bytearray)) else str(body or "")[:300].encode()
    m = _OPERATION_RE.search(head)
    if m is None:
        return "http"
    return (m.group(1) or m.group(2)).decode("ascii", "replace")


_WS = rb"(?:\s|\\[nrt])*"  # whitespace, also as JSON escapes
_OPERATION_RE = re.compile(
    rb'"query"\s*:\s*"'
    + _WS
    + rb"(?:#graphql"
    + _WS
    + rb")?(?:(?:query|mutation)\s+(\w+)|(?:query"
    + _WS
    + rb")?\{"
    + _WS
    + rb"(\w+))"
)


def install_request_count() -> None:
    """Let :func:`counting_requests` count every HTTP request ``requests`` sends.

    A source's requests go out through three clients: our own key probe (``requests.post``),
    the wandb client's key check while ``wandb.Api()`` is built (its own ``InternalApi``, plus a
    ``GetViewer`` for its error reporting unless ``WANDB_ERROR_REPORTING=false``), and the
    ``Api``'s GraphQL client. All of them send through ``requests``' ``HTTPAdapter.send`` (one
    call per attempt, retries included), so the count is taken there: once wrapped, a thread
    inside ``counting_requests`` counts what it sends; other threads and other callers pass
    straight through.
    """
    with _counting_installed:
        if _counting_hook:
            return
        from requests.adapters import HTTPAdapter

        send = HTTPAdapter.send

        @functools.wraps(send)
        def counted_send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            counter = getattr(_counting, "counter", None)
            if counter is not None:
                counter.add(graphql_operation(getattr(request, "body", None)))
            return send(self, request, *args, **kwargs)

        HTTPAdapter.send = counted_send  # type: ignore[method-assign]
        _counting_hook.append(counted_send)


@contextlib.contextmanager
def counting_requests(counter: RequestCounter) -> Iterator[None]:
    """Count in ``counter`` every HTTP request this thread sends meanwhile."""
    install_request_count()
    previous = getattr(_counting, "counter", None)
    _counting.counter = counter
    try:
        yield
    finally:
        _counting.counter = previous


def install_request_hooks(api: Any, *, retries: int, sleep_s: float) -> None:
    """Bound the client's retries.

    wandb 0.26's ``RetryingClient`` retries any HTTP error except 400/401/403/404/409 for 20 s
    with sleeps from 1 s doubling -- a 500 or 429 would stall a poll for 20 s. This swaps its
    retry wrapper for one with ``retries`` quick retries that never retries 429 or a request
    that timed out (that would double a poll's wait on a server that does not answer). (Requests
    are counted where they are sent, :func:`counting_requests`.)
    """
    retrying = getattr(api, "_client", None)
    transport_client = getattr(retrying, "_client", None)
    if transport_client is None or not hasattr(retrying, "_execute_decorated"):
        raise SourceUnavailable(
            "this wandb client cannot be instrumented; install wandb>=0.26,<0.27"
        )
    import requests
    from wandb.sdk.lib import retry
    from wandb.util import no_retry_auth
    from wandb_gql.client import RetryError

    def execute(document: Any, *args: Any, **kwargs: Any) -> Any:
        return transport_client.execute(document, *args, **kwargs)

    def should_retry(exc: Exception) -> Any:
        response = _response_of(exc)
        if response is not None and response.status_code == 429:
            return False
        if any(isinstance(e, requests.Timeout) for e in _exception_chain(exc)):
            # a server that did not answer within timeout_s: asking again would make the
            # poll wait timeout_s once more, and the poller backs off anyway
            return False
        return no_retry_auth(exc)

    retrier = retry.Retry(
        execute,
        num_retries=retries,
        retry_timedelta=dt.timedelta(seconds=60),
        check_retry_fn=should_retry,
        retryable_exceptions=(RetryError, requests.RequestException),
    )
    assert retrying is not None  # checked above (it has _execute_decorated)
    retrying._execute_decorated = lambda *a, **kw: retrier(*a, retry_sleep_base=sleep_s, **kw)


def _exception_chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps (wandb's CommError.exc, RetryError.last_exception, causes)."""
    seen: list[BaseException] = []
    todo: list[Any] = [exc]
    while todo:
        e = todo.pop()
        if not isinstance(e, BaseException) or any(e is s for s in seen):
            continue
        seen.append(e)
        todo += [
            getattr(e, a, None)
            for a in ("exc", "exception", "last_exception", "__cause__", "__context__")
        ]
    return seen


def _response_of(exc: BaseException) -> Any:
    for e in _exception_chain(exc):
        response = getattr(e, "response", None)
        if response is not None and hasattr(response, "status_code"):
            return response
    return None


def retry_after_seconds(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds to wait from ``RateLimit-Reset`` (delta seconds, or an epoch) or ``Retry-After``
    (delta seconds, or an HTTP date as RFC 9110 allows: what proxies in front of W&B send)."""
    for name in ("RateLimit-Reset", "Retry-After"):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            value = float(raw)
        except ValueError:
            when = http_date(raw) if name == "Retry-After" else None
            if when is None:
                continue
            value = when
        if not math.isfinite(value):  # "inf" or "nan": no wait at all (the poller's own stands)
            continue
        if value > 1e9:  # an epoch time, not a delta
            value -= now
        return max(0.0, value)
    return None


def http_date(text: str) -> float | None:
    """An HTTP date (``Wed, 21 Oct 2026 07:28:00 GMT``) as epoch seconds, else None."""
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000": UTC, as HTTP dates are
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


# History requests that fail in a row before a ``histories`` call sends no more (each failed
# one may have cost the client's own retries).
HISTORY_FAILURES_IN_A_ROW = 3


def _fails_every_request(exc: BaseException, why: SourceUnavailable) -> bool:
    """A failure of W&B as a whole, not of one run: the next request would fail the same way
    (unreachable, no answer in time, rate limited, the key refused, no client)."""
    if why.status in (401, 403, 429) or isinstance(exc, ImportError):
        return True
    import requests

    return any(
        isinstance(e, (requests.Timeout, requests.ConnectionError, ConnectionError))
        for e in _exception_chain(exc)
    )


def tls_problem(chain: Sequence[BaseException]) -> str | None:
    """A reason template (``{where}``) when the failure was TLS's, else None: it read "cannot
    reach W&B (connection failed or dropped)", which sends one looking at the network."""
    import ssl

    import requests

    tls = next((e for e in chain if isinstance(e, ssl.SSLError)), None)
    if tls is None and not any(isinstance(e, requests.exceptions.SSLError) for e in chain):
        return None
    if isinstance(tls, ssl.SSLCertVerificationError):
        why = str(tls.verify_message or tls.reason or "certificate verify failed")
        return (
            "W&B at {where} has a TLS certificate this machine does not trust ("
            + why.replace("{", "(").replace("}", ")")
            + "); accepted: REQUESTS_CA_BUNDLE set to the certificate file of the authority "
            "that signed it"
        )
    why = str(getattr(tls, "reason", None) or "TLS error")
    return (
        "the TLS handshake with W&B at {where} failed ("
        + why.replace("{", "(").replace("}", ")")
        + "); a server that speaks plain HTTP needs an http:// URL"
    )


def not_json_what(body: object) -> str:
    """What a body that is not JSON looks like, for a reason: a web page, empty, or text."""
    text = str(body or "").lstrip()
    if not text:
        return "an empty body"
    return "a web page" if text.startswith("<") else "text"


def unavailable_from(exc: BaseException, *, where: str, now: float) -> SourceUnavailable:
    """Any failure of a W&B call -> one short reason (and the wait a 429 asked for)."""
    if isinstance(exc, SourceUnavailable):
        return exc
    if isinstance(exc, ImportError):
        return SourceUnavailable(f"the wandb client cannot be imported ({exc})")
    import requests

    chain = _exception_chain(exc)
    response = _response_of(exc)
    if response is not None:
        status = response.status_code
        if status == 429:
            wait = retry_after_seconds(response.headers, now)
            hint = f", reset in {wait:g} s" if wait is not None else ""
            return SourceUnavailable(
                f"rate limited by W&B (HTTP 429{hint})", retry_after_s=wait, status=429
            )
        if status in (401, 403):
            return SourceUnavailable(f"W&B refused the API key (HTTP {status})", status=status)
        return SourceUnavailable(f"W&B at {where} answered HTTP {status}", status=status)
    tls = tls_problem(chain)
    if tls is not None:
        return SourceUnavailable(tls.format(where=where))
    if any(isinstance(e, requests.Timeout) for e in chain):
        return SourceUnavailable(f"W&B at {where} did not answer in time")
    if any(isinstance(e, (requests.ConnectionError, ConnectionError)) for e in chain):
        return SourceUnavailable(f"cannot reach W&B at {where} (connection failed or dropped)")
    not_json = next((e for e in chain if isinstance(e, json.JSONDecodeError)), None)
    if not_json is not None:
        # the client's requests.Response.json() on a body that is no JSON; it read "W&B query
        # failed (JSONDecodeError: Expecting value: line 1 column 1 (char 0))"
        return SourceUnavailable(
            f"W&B at {where} answered a GraphQL query with {not_json_what(not_json.doc)}, not "
            "JSON (such as a proxy's login or error page, or an address that is not W&B's API)"
        )
    auth = next((e for e in chain if type(e).__name__ == "AuthenticationError"), None)
    if auth is not None:
        # raised by the client itself before W&B saw the key (its format check)
        why = _ANY_USERINFO_RE.sub(r"\1***@", str(auth).splitlines()[0])[:120].rstrip(". ")
        return SourceUnavailable(f"the wandb client rejected WANDB_API_KEY ({why})")
    refused = graphql_error_message(exc)
    if refused is not None:
        return SourceUnavailable(f"W&B at {where} answered the query with an error: {refused}")
    text = _ANY_USERINFO_RE.sub(r"\1***@", str(exc).splitlines()[0])[:160] if str(exc) else ""
    return SourceUnavailable(f"W&B query failed ({type(exc).__name__}: {text})")


def graphql_error_message(exc: BaseException) -> str | None:
    """The message of a GraphQL error W&B answered with, else None.

    wandb's GraphQL client raises ``Exception(str(result.errors[0]))``: the text of a Python
    dict, which a reason showed as "W&B query failed (Exception: {'message': 'permission
    denied', 'path': ['project']})"."""
    import ast

    if type(exc) is not Exception or len(exc.args) != 1 or not isinstance(exc.args[0], str):
        return None
    text = exc.args[0]
    if not text.startswith("{"):
        return None
    try:
        error = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    message = error.get("message") if isinstance(error, dict) else None
    if not isinstance(message, str) or not message.strip():
        return None
    one_line = " ".join(message.split())
    return _ANY_USERINFO_RE.sub(r"\1***@", one_line)[:160].rstrip(". ")


def run_data(node: Mapping[str, Any]) -> WandbRunData:
    """The fields the record needs from one ``Runs`` node, as sent (JSON text is parsed later)."""
    history_keys = node.get("historyKeys")
    last_step = history_keys.get("lastStep") if isinstance(history_keys, Mapping) else None
    return WandbRunData(
        run_id=str(node.get("name")),
        group=node.get("group"),
        state=node.get("state"),
        tags=node.get("tags") or (),
        config=node.get("config"),
        summary=node.get("summaryMetrics"),
        created_at=node.get("createdAt"),
        heartbeat_at=node.get("heartbeatAt"),
        last_step=last_step,
    )


@functools.cache
def sampled_history_query() -> Any:
    """wandb's ``RunSampledHistory`` query (``Run._sampled_history`` in wandb 0.26), parsed once."""
    from wandb_gql import gql

    return gql(
        """
        query RunSampledHistory($project: String!, $entity: String!, $name: String!, $specs: [JSONString!]!) {
            project(name: $project, entityName: $entity) {
                run(name: $name) { sampledHistory(specs: $specs) }
            }
        }
        """
    )


# ``Runs`` pages in a row that may bring no new run (empty, or runs already listed) while W&B
# says more exist, before a poll gives up rather than list part of the runs as all of them
PAGES_WITHOUT_NEW_RUNS = 3


@functools.cache
def run_nodes_paginator() -> type:
    """wandb's public ``Runs`` paginator -- same ``Runs`` query, filters and cursors -- yielding
    the raw run nodes instead of a ``Run`` object per run.

    ``Run.__init__`` parses a GraphQL query text for every run it wraps (~3 ms of CPU each,
    never sent when the data came with the page) -- seconds per poll at thousands of runs -- and parses
    config, summary and system metrics, raising on a run whose summary is not an object (one
    such run would fail the page). A ``Run`` is built only for the runs whose curve is fetched.

    A page that brings no new run while W&B says more exist (``hasNextPage``) does not end the
    list: wandb's paginator stopped there (``Paginator.__next__`` in wandb 0.26), so a poll
    listed the runs before it and none after -- the rest of the sweep vanished from the
    trials as if deleted, with no error. The next page is asked for; after
    ``PAGES_WITHOUT_NEW_RUNS`` such pages in a row the poll fails with that reason (a partial
    list is never shown as the whole one). The page after an empty one starts where the empty
    one ended (its ``endCursor``, else the cursor it was asked from): wandb's ``Runs.cursor``
    reads the last edge's cursor and, with no edge, started over from the first page.
    """
    from wandb.apis.public import Runs

    class RunNodes(Runs):
        @property
        def cursor(self) -> str | None:
            if self.last_response is None:
                return None
            page = (self.last_response.get("project") or {}).get("runs") or {}
            edges = page.get("edges") or []
            if edges:
                return cast(str | None, edges[-1].get("cursor"))  # as wandb's Runs.cursor
            end = (page.get("pageInfo") or {}).get("endCursor")
            return cast(str | None, end if end is not None else self.variables.get("cursor"))

        def _load_page(self) -> bool:
            seen: set[str] = self.__dict__.setdefault("_hwscale_seen", set())
            for _ in range(PAGES_WITHOUT_NEW_RUNS):
                before = len(self.objects)
                if not super()._load_page():
                    return False
                names = {str(n.get("name")) for n in self.objects[before:]}
                if names - seen:
                    seen |= names
                    return True
            raise SourceUnavailable(
                f"W&B's run list of {self.entity}/{self.project} stopped short: "
                f"{PAGES_WITHOUT_NEW_RUNS} pages in a row brought no new run although W&B said "
                f"more exist (after {len(seen)} runs), so the list would be incomplete"
            )

        def convert_objects(self) -> list[dict[str, Any]]:  # type: ignore[override]
            project = (self.last_response or {}).get("project")
            if project is None:
                raise ValueError(f"Could not find project {self.project}")
            edges = (project.get("runs") or {}).get("edges") or []
            return [
                e["node"] for e in edges if isinstance(e, dict) and isinstance(e.get("node"), dict)
            ]

    return RunNodes


def history_key(data: WandbRunData, trial: Trial) -> str:
    """What identifies a run's history version: its last step, else its progress and update time."""
    step = finite_number(data.last_step)
    return (
        f"step={step:g}" if step is not None else f"agent={trial.agent_steps}|at={trial.updated_at}"
    )


def history_points(rows: Sequence[Mapping[str, Any]], metric: str) -> list[HistoryPoint]:
    """Sampled history rows with a finite agent step, runtime and metric, sorted by agent step."""
    points = []
    for row in rows:
        if not isinstance(row, Mapping):
            continue
        step, wall, value = (
            finite_number(row.get(k)) for k in (AGENT_STEP_KEY, RUNTIME_HISTORY_KEY, metric)
        )
        if wall is None:  # Metta's rows may lack _runtime; its trainer logs metric/total_time
            wall = finite_number(row.get(TOTAL_TIME_HISTORY_KEY))
        if step is not None and wall is not None and value is not None:
            points.append(HistoryPoint(step, wall, value))
    points.sort(key=lambda p: p.agent_step)
    return points


# What a run's record is made from (run_data's fields): a run whose node holds the same values
# as at the last poll keeps its record, unparsed (its summary JSON, Metta's rules: ~1 s of CPU per
# poll at 16,000 runs)
_SENT_FIELDS = ("name", "group", "state", "tags", "config", "summaryMetrics", "createdAt")


def _sent_fields(node: Mapping[str, Any]) -> tuple[Any, ...]:
    history_keys = node.get("historyKeys")
    last_step = history_keys.get("lastStep") if isinstance(history_keys, Mapping) else None
    return (*(node.get(k) for k in _SENT_FIELDS), node.get("heartbeatAt"), last_step)


def _unreadable_run(node: Mapping[str, Any], exc: Exception) -> Trial:
    return Trial(
        sweep="",
        run_id=str(node.get("name", "?")),
        gpus=None,
        nodes=None,
        state="stale",
        source="wandb",
        flags=[f"could not read run ({type(exc).__name__}: {str(exc)[:80]})"],
    )


class WandbSource:
    """Polls the experiment's sweeps (W&B groups) in ``<entity>/<project>``."""

    kind = "wandb"

    def __init__(
        self,
        cfg: ExperimentConfig,
        *,
        api_factory: Callable[[], Any] | None = None,
        settings: SourceSettings | None = None,
        clock: Callable[[], float] = time.time,
        cache_dir: Path | None = None,
    ):
        from ..paths import app_paths

        self.settings = settings or SourceSettings()
        self.entity = cfg.wandb.entity
        self.project = cfg.wandb.effective_project
        self.score_metric = cfg.sweep.metric
        self.curve_metric = cfg.analysis.curve_metric
        self._sweeps = experiment_sweeps(cfg)
        self._read = self._sweeps  # the sweeps a poll asks for (narrow)
        self._api_factory = api_factory
        self._clock = clock
        root = cache_dir or app_paths().state / "cache" / "wandb"
        self._cache = HistoryCache(root / (self.entity or "_default") / self.project)
        self.counter = RequestCounter()
        self.history_error: str | None = None  # why the last histories() call used older curves
        # run ids of the last histories() call whose curve could not be read from W&B: its
        # request failed, or it was not sent after an earlier failure (those with an older
        # cached curve got that one)
        self.history_unread: list[str] = []
        self._api: Any = None
        self._lock = (
            threading.Lock()
        )  # one request at a time: poll and histories may run on different workers
        self._previous: dict[str, Trial] = {}
        # run id -> (what W&B sent of it, its record before the stale rule, its history key)
        self._normalized: dict[str, tuple[tuple[Any, ...], Trial, str | None]] = {}
        self._nodes: dict[
            str, dict[str, Any]
        ] = {}  # run id -> Runs node of the last poll (history fetches)
        self._entity_name: str | None = None
        self._history_keys: dict[str, str] = {}

    @property
    def sweeps(self) -> list[str]:
        return list(self._sweeps)

    def narrow(self, sweeps: Sequence[str]) -> None:
        """Read only these of the experiment's sweeps from now on (``trials --sweep`` or
        ``--generation``: the others were read and left out); ``sweeps`` stays every sweep."""
        wanted = set(sweeps)
        self._read = [s for s in self._sweeps if s in wanted]

    @property
    def path(self) -> str:
        return f"{self.entity}/{self.project}" if self.entity else self.project

    def _where(self) -> str:
        settings = getattr(self._api, "settings", None) or {}
        url = settings.get("base_url") or os.environ.get("WANDB_BASE_URL") or "api.wandb.ai"
        return shown_url(str(url))

    def _ensure_api(self) -> Any:
        if self._api is None:
            try:
                api = (
                    self._api_factory()
                    if self._api_factory
                    else make_wandb_api(entity=self.entity, timeout_s=self.settings.timeout_s)
                )
                release_console_writes()
                install_request_hooks(
                    api,
                    retries=self.settings.client_retries,
                    sleep_s=self.settings.retry_sleep_s,
                )
            except Exception as e:
                release_console_writes()  # wandb may be imported although the API failed
                raise unavailable_from(e, where=self._where(), now=self._clock()) from e
            self._api = api
        return self._api

    def _entity(self, api: Any) -> str:
        entity = self.entity or api.default_entity
        if not entity:
            raise SourceUnavailable(
                "no W&B entity: set wandb.entity in the experiment file or WANDB_ENTITY"
            )
        return entity

    def poll(self) -> PollResult:
        """One ``Runs`` request (per ``page_size`` runs) for all sweeps; raises SourceUnavailable."""
        with self._lock, counting_requests(self.counter):
            if not self._read:  # no pair in the grid: nothing to ask W&B for (an empty
                # "$in" filter is not sent, whatever the server would make of it)
                self._previous, self._nodes, self._history_keys = {}, {}, {}
                self._normalized = {}
                return PollResult(
                    trials=[], changed=set(), flagged=0, requests=0, fetched_at=self._clock()
                )
            before = self.counter.total  # the first poll's key checks count too
            api = self._ensure_api()
            try:
                entity = self._entity(api)
                pages = run_nodes_paginator()(
                    api.client,
                    entity,
                    self.project,
                    filters={"group": {"$in": self._read}},
                    order="+created_at",
                    per_page=self.settings.page_size,
                    include_sweeps=False,
                    lazy=False,
                )
                nodes = {
                    str(node.get("name")): node for node in pages
                }  # a run seen on two pages counts once
            except ValueError as e:
                if "Could not find project" not in str(e):
                    raise unavailable_from(e, where=self._where(), now=self._clock()) from e
                raise SourceUnavailable(
                    f"W&B project {self.path} not found at {self._where()}"
                ) from e
            except Exception as e:
                raise unavailable_from(e, where=self._where(), now=self._clock()) from e
            now = self._clock()
            trials: list[Trial] = []
            keys: dict[str, str] = {}
            normalized: dict[str, tuple[tuple[Any, ...], Trial, str | None]] = {}
            for run_id, node in nodes.items():
                sent = _sent_fields(node)
                entry = self._normalized.get(run_id)
                if entry is None or entry[0] != sent:  # new, or W&B sent it changed
                    entry = (sent, *self._normalize(node))
                normalized[run_id] = entry
                if entry[2] is not None:
                    keys[run_id] = entry[2]
                trials.append(self._current(entry[1], now))
            self._normalized = normalized
            trials.sort(key=record_order)
            changed = diff_trials(self._previous, trials)
            self._previous = {t.run_id: t for t in trials}
            self._nodes, self._history_keys, self._entity_name = nodes, keys, entity
            return PollResult(
                trials=trials,
                changed=changed,
                flagged=sum(1 for t in trials if t.flags),
                requests=self.counter.total - before,
                fetched_at=now,
            )

    def _normalize(self, node: Mapping[str, Any]) -> tuple[Trial, str | None]:
        """The run's record before the stale rule (which depends on the time, not on what W&B
        sent), and its history key; a run we cannot read is kept, flagged, and never breaks
        the poll."""
        try:
            data = run_data(node)
            trial = normalize_wandb_run(
                data, score_metric=self.score_metric, now=0.0, stale_after_s=math.inf
            )
            return trial, history_key(data, trial)
        except Exception as e:
            return _unreadable_run(node, e), None

    def _current(self, trial: Trial, now: float) -> Trial:
        """The record as of ``now`` (``base.current_record``)."""
        return current_record(trial, now, self.settings.stale_after_s)

    def _fetch_history(self, run_id: str, keys: list[str]) -> list[dict[str, Any]]:
        """One ``RunSampledHistory`` request for one run: the query, variables and spec that
        ``run.history(keys=keys, samples=..., pandas=False)`` sends, without a ``Run`` object:
        ``Run.__init__`` makes an empty directory ``<entity>/<project>/<run id>`` under
        ``WANDB_DIR`` (else the system temp dir) for every run, and none is ever removed."""
        spec = {"keys": ["_step", *keys], "samples": self.settings.history_samples}
        response = self._api.client.execute(
            sampled_history_query(),
            variable_values={
                "entity": cast(str, self._entity_name),  # set by the poll that listed this run
                "project": self.project,
                "name": run_id,
                "specs": [json.dumps(spec)],
            },
        )
        project = (response or {}).get("project")
        if project is None:  # read "W&B query failed (ValueError: Could not find project ...)"
            raise SourceUnavailable(f"W&B project {self.path} not found at {self._where()}")
        run = project.get("run")
        if run is None:  # listed by the last poll, deleted since
            raise SourceUnavailable(
                f"run {run_id} is no longer in {self.path} on W&B (deleted since the trials "
                "were listed)"
            )
        rows = (run.get("sampledHistory") or [[]])[0]
        return rows if isinstance(rows, list) else []

    def _fetch_points(self, run_id: str, metric: str, key: str | None) -> list[HistoryPoint]:
        """A run's curve. W&B returns only the history rows that hold every key asked for
        (wandb/wandb#2266), so the two wall-time keys are never asked for together: first
        ``_runtime`` (W&B's own), and only when that leaves a run that has history without a
        point, ``metric/total_time`` (what Metta's and our trainer's rows carry)."""
        points: list[HistoryPoint] = []
        for wall in (RUNTIME_HISTORY_KEY, TOTAL_TIME_HISTORY_KEY):
            keys = list(dict.fromkeys([metric, AGENT_STEP_KEY, wall]))
            points = history_points(self._fetch_history(run_id, keys), metric)
            if points or key is None or not key.startswith("step="):
                break  # a curve, or a run with no history row to ask again for
        return points

    def curves_to_fetch(self, run_ids: Sequence[str], metric: str | None = None) -> int:
        """How many of these runs' curves :meth:`histories` would ask W&B for: runs the last
        poll listed whose curve is not cached at their last step (one request each)."""
        metric = metric or self.curve_metric
        with self._lock:
            return sum(
                1
                for run_id in dict.fromkeys(run_ids)
                if run_id in self._nodes
                and (
                    (key := self._history_keys.get(run_id)) is None
                    or self._cache.get(run_id, metric, key) is None
                )
            )

    def histories(
        self, run_ids: Sequence[str], metric: str | None = None
    ) -> dict[str, Sequence[HistoryPoint]]:
        """Curves of ``metric`` (default: the experiment's curve metric) vs agent step and wall time.

        Served from the disk cache unless the run's last step moved since it was cached; only
        those runs cost a ``RunSampledHistory`` request. Never raises for network errors. A
        failure of one run's request (W&B answered with an error for it) does not stop the
        others: one run W&B cannot give hid every curve after it. No further request is sent
        after a failure that is W&B's as a whole (unreachable, no answer in time, rate limited,
        key refused) or after ``HISTORY_FAILURES_IN_A_ROW`` failures in a row. The runs whose
        curve could not be read are listed in ``history_unread`` and get their older cached
        curve (if any); ``history_error`` says why (the first failure's reason). Runs not seen
        by the last poll are served from the cache only.
        """
        metric = metric or self.curve_metric
        out: dict[str, Sequence[HistoryPoint]] = {}
        self.history_error = None
        self.history_unread = []
        in_a_row, stopped = 0, False
        with self._lock, counting_requests(self.counter):
            for run_id in run_ids:
                key = self._history_keys.get(run_id)
                points = self._cache.get(run_id, metric, key) if key is not None else None
                if points is None and run_id in self._nodes:
                    if not stopped:
                        try:
                            points = self._fetch_points(run_id, metric, key)
                            self._cache.put(run_id, metric, key, points)
                            in_a_row = 0
                        except Exception as e:
                            why = unavailable_from(e, where=self._where(), now=self._clock())
                            self.history_error = self.history_error or why.reason
                            in_a_row += 1
                            stopped = (
                                _fails_every_request(e, why)
                                or in_a_row >= HISTORY_FAILURES_IN_A_ROW
                            )
                    if points is None:  # its request failed, or none was sent after a stop
                        self.history_unread.append(run_id)
                if points is None:
                    points = self._cache.latest(run_id, metric)
                if points is not None:
                    out[run_id] = points
        return out
