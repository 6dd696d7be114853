"""Request ids for structured logs: a middleware that assigns one per HTTP request and a logging filter that adds it
(``request_id``) to every record logged while the request is handled — including by code that never sees the request.

Wire: ``web.Application(middlewares=[request_id_middleware(), ...])`` and
``handler.addFilter(RequestIdFilter())`` on the JSON log handler (``bot/logs.py``), whose formatter already prints
extra record attributes. The id is echoed in ``X-Request-Id`` so a resident-facing error can be traced.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

from aiohttp import web

REQUEST_ID: ContextVar[str | None] = ContextVar("civicbot_request_id", default=None)
_VALID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def request_id_middleware(header: str = "X-Request-Id"):
    @web.middleware
    async def middleware(request: web.Request, handler):
        incoming = request.headers.get(header, "")
        rid = incoming if _VALID.match(incoming) else uuid.uuid4().hex
        token = REQUEST_ID.set(rid)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            exc.headers[header] = rid
            raise
        finally:
            REQUEST_ID.reset(token)
        response.headers[header] = rid
        return response

    return middleware


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            rid = REQUEST_ID.get()
            if rid is not None:
                record.request_id = rid
        return True
