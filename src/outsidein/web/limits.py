"""Limits on what a request may carry: body size here, field sizes in :mod:`.schemas`.

A JSON API body (``/api/v1``) may be at most :data:`API_BODY_LIMIT` (1 MB); a page's form
or upload at most :data:`FORM_BODY_LIMIT` (10 MB, the alignment CSV import).  A larger body
is answered 413 problem+json before any route reads it, whether the client announced its
length or streamed it in chunks.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from outsidein.web.problems import problem

__all__ = ["API_BODY_LIMIT", "FORM_BODY_LIMIT", "BodyLimitMiddleware", "body_limit"]

API_BODY_LIMIT = 1024 * 1024
FORM_BODY_LIMIT = 10 * 1024 * 1024


def body_limit(path: str) -> int:
    """The largest body, in bytes, a request to *path* may send."""
    return API_BODY_LIMIT if path.startswith("/api/") else FORM_BODY_LIMIT


def _megabytes(n: int) -> str:
    return f"{n // (1024 * 1024)} MB"


class BodyLimitMiddleware:
    """Refuses a request body over :func:`body_limit` with 413 problem+json.

    The body is read here (at most the limit) and replayed to the app, so a chunked body
    that grows past the limit is refused as surely as one with a large ``Content-Length``.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["path"])
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        messages: list[Any] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > limit:
                await self._refuse(scope, receive, send, limit)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Any:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(scope: Any, receive: Any, send: Any, limit: int) -> None:
        request = Request(scope, receive)
        response = problem(413, f"the request body is larger than {_megabytes(limit)}; "
                                f"send at most {_megabytes(limit)} ({limit} bytes)",
                           request=request, title="Content too large")
        await response(scope, receive, send)
