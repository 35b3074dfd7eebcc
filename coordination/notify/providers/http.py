"""What the HTTP adapters share: one kept-alive client per thread, and HTTP failures mapped to
ProviderError the same way for every provider (docs/providers.md, "Errors").

A timeout, a refused or reset connection, a 429 and a 5xx are transient (the pipeline retries
with backoff, then fails over); any other 4xx is permanent. Redirects are not followed: a
provider that moved is a configuration error to see, not a hop to take with our signatures.
"""

import functools
import ssl
import threading

import httpx

from coordination.notify.providers.base import ProviderError

_local = threading.local()


_tls_lock = threading.Lock()


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return httpx.create_ssl_context(trust_env=False)  # as the clients: the environment does not choose


def _tls() -> ssl.SSLContext:
    """One TLS context for the process's clients: building one loads the trusted certificates
    (tens of milliseconds), and a context is safe to share between threads. Built under a lock:
    functools.cache alone let every sending thread build its own at once on the first batch
    (sixteen builds in two worker processes, about 0.8 s of CPU in the middle of an incident's
    first messages)."""
    with _tls_lock:
        return _tls_context()


def prepare() -> None:
    """Build now what the first message would otherwise pay for: the TLS context and httpx's
    transport (its first construction imports httpcore). Called as a worker process starts
    (coordination.notify.providers.registry.prepare_providers)."""
    httpx.HTTPTransport(verify=_tls()).close()


def client() -> httpx.Client:
    held = getattr(_local, "client", None)
    if held is None:
        # trust_env=False: an HTTP(S)_PROXY in a worker's environment must not silently carry
        # signed requests elsewhere.
        held = httpx.Client(follow_redirects=False, trust_env=False, verify=_tls())
        _local.client = held
    return held


def close_client() -> None:
    held = getattr(_local, "client", None)
    _local.client = None
    if held is not None:
        held.close()


def timeout(seconds: float) -> httpx.Timeout:
    return httpx.Timeout(seconds, connect=min(3.0, seconds))


def post(url: str, *, content: bytes, headers: dict[str, str], seconds: float) -> httpx.Response:
    try:
        return client().post(url, content=content, headers=headers, timeout=timeout(seconds))
    except httpx.TimeoutException as exc:
        close_client()  # the connection may be half-used: do not reuse it
        raise ProviderError("timeout", type(exc).__name__, transient=True) from exc
    except httpx.TransportError as exc:
        close_client()
        raise ProviderError("connection", type(exc).__name__, transient=True) from exc
    except httpx.HTTPError as exc:
        raise ProviderError("http_error", type(exc).__name__, transient=False) from exc


def raise_for_status(response: httpx.Response) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    transient = status == 429 or status >= 500 or status == 408
    raise ProviderError(f"http_{status}", response.text[:200], transient=transient)


def json_of(response: httpx.Response) -> dict:
    try:
        data = response.json()
    except ValueError as exc:
        raise ProviderError("bad_response", "not JSON", transient=True) from exc
    if not isinstance(data, dict):
        raise ProviderError("bad_response", "not a JSON object", transient=True)
    return data
