"""One HTTP request of the OpenAI-compatible writer, and what can go wrong with it.

A server may answer late, trickle its body, cut it short, send a status line that is
not HTTP, or JSON of another shape; each of these becomes an exception of this module
with a reason in words, so the writer can retry it or record it for the row, and never
lets it end the run. The timeout is a deadline for the whole request (connect, headers
and body): a timer shuts the socket down when it passes, since a socket timeout alone
restarts with every byte a trickling server sends.
"""

from __future__ import annotations

import email.utils
import functools
import http.client
import json
import math
import socket
import threading
import time
import urllib.error
import urllib.request
from typing import final

from kale.exceptions import KaleValueError

# The longest wait a Retry-After header may ask for: beyond it the row fails sooner,
# and a rerun with --retry-failed tries again.
MAX_RETRY_AFTER = 300.0


class Failed(Exception):
    """A request that got no usable answer; `retry` says whether another try may help."""

    def __init__(self, reason: str, *, retry: bool, retry_after: float | None = None):
        super().__init__(reason)
        self.reason, self.retry, self.retry_after = reason, retry, retry_after


def check_settings(
    *, concurrency: int, timeout: float, retries: int, rate_limit: float | None = None, backoff: float = 1.0
) -> None:
    """Refuse settings that would fail every row (or never start) in one line, at startup."""
    if not isinstance(concurrency, int) or concurrency < 1:
        raise KaleValueError(f"--concurrency must be at least 1, not {concurrency!r}")
    if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout > 0):
        raise KaleValueError(f"--request-timeout must be a positive number of seconds, not {timeout!r}")
    if not isinstance(retries, int) or retries < 0:
        raise KaleValueError(f"--retries must be 0 or more, not {retries!r}")
    if rate_limit is not None and not (math.isfinite(rate_limit) and rate_limit > 0):
        raise KaleValueError(f"--rate-limit must be a positive number of requests per second, not {rate_limit!r}")
    if not (math.isfinite(backoff) and backoff >= 0):
        raise KaleValueError(f"backoff must be 0 or more seconds, not {backoff!r}")


@final
class Deadline:
    """Shuts down the socket of one request when `seconds` have passed."""

    def __init__(self, seconds: float):
        self.seconds, self.expired, self.sock = seconds, False, None
        self.lock = threading.Lock()
        self.timer = threading.Timer(seconds, self._expire)
        self.timer.daemon = True

    def __enter__(self) -> Deadline:
        self.timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self.timer.cancel()
        with self.lock:
            self.sock = None

    def _expire(self) -> None:
        with self.lock:
            self.expired = True
            self._shut()

    def attach(self, sock) -> None:
        with self.lock:
            self.sock = sock
            if self.expired:
                self._shut()

    def _shut(self) -> None:
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed


@functools.cache
def _watched(base: type) -> type:
    """`base` (HTTPConnection or HTTPSConnection) that hands its socket to a Deadline."""

    class Watched(base):
        def __init__(self, *args, deadline: Deadline, **kwargs):
            super().__init__(*args, **kwargs)
            self.deadline = deadline

        def connect(self):
            super().connect()
            self.deadline.attach(self.sock)

    return Watched


def _handler(base: type, deadline: Deadline):
    class Handler(base):
        def do_open(self, http_class, req, **kwargs):
            return super().do_open(functools.partial(_watched(http_class), deadline=deadline), req, **kwargs)

    return Handler()


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (a number of seconds or an HTTP date), capped."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


RETRY_STATUS = {408, 429, 500, 502, 503, 504}


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> bytes:
    """POST `body` and return the response body, all within `timeout` seconds; raises Failed."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with Deadline(timeout) as deadline:
        # a fresh opener a request: its handlers carry this request's deadline (proxies from the environment still apply)
        opener = urllib.request.build_opener(
            _handler(urllib.request.HTTPHandler, deadline), _handler(urllib.request.HTTPSHandler, deadline)
        )
        try:
            with opener.open(request, timeout=timeout) as response:
                raw = response.read()
            if deadline.expired:  # a body without a length ends where the deadline cut it
                raise OSError("cut at the deadline")
            return raw
        except urllib.error.HTTPError as e:
            wait = retry_after(e.headers.get("Retry-After") if e.headers else None)
            e.close()
            retry = e.code in RETRY_STATUS
            raise Failed(f"HTTP {e.code}" + ("" if retry else ": not retried"), retry=retry, retry_after=wait) from None
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as e:
            if deadline.expired:
                raise Failed(f"no complete answer within the {timeout:g} s request timeout", retry=True) from None
            reason = getattr(e, "reason", None) or e
            raise Failed(f"{type(e).__name__}: {reason}", retry=True) from None


def chat_content(raw: bytes) -> str:
    """The text of a chat completion; raises Failed naming what is wrong with it."""
    try:
        data = json.loads(raw)
    except ValueError:
        raise Failed(f"unexpected response: not JSON ({len(raw)} bytes)", retry=True) from None
    choices = data.get("choices") if isinstance(data, dict) else None
    if not (isinstance(choices, list) and choices and isinstance(choices[0], dict)):
        raise Failed(f"unexpected response: no choices in {type(data).__name__} {str(data)[:80]}", retry=True)
    message = choices[0].get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str):
        # a refusal or a tool call: asking again the same way would get the same
        finish = choices[0].get("finish_reason")
        raise Failed(f"the server returned no text (content {content!r}, finish_reason {finish!r})", retry=False)
    return content.strip()
