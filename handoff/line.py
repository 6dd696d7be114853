"""LinePort: the three LINE calls the console needs. The composition root adapts the real gateway to it.

Contract for adapters: ``push`` sends with ``X-Line-Retry-Key: retry_key`` and treats LINE's 409 (this retry key was
already accepted) as success; any other failure raises ``LinePushError`` (an exception with ``.status == 409`` is
also taken as success, so ``bot.line.SdkLineGateway`` fits this port as it is).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class LinePushError(RuntimeError):
    """The message did not reach LINE; the same retry key may be used again."""


class LinePort(Protocol):
    async def push(self, tenant: str, user_id: str, messages: list[dict], retry_key: str) -> None: ...
    async def mark_as_read(self, tenant: str, user_id: str) -> None: ...
    async def show_loading(self, tenant: str, user_id: str, seconds: int = 20) -> None: ...


@dataclass
class LineCall:
    op: str  # push | mark_as_read | show_loading
    tenant: str
    user_id: str
    messages: list[dict] = field(default_factory=list)
    retry_key: str = ""
    seconds: int = 0


class RecordingLinePort:
    """Records every call. Pushes with an already-seen retry key are accepted once, like LINE (409 = success).

    ``fail_next(exc)`` makes the next push raise, for retry tests.
    """

    def __init__(self) -> None:
        self.calls: list[LineCall] = []
        self._failures: list[Exception] = []
        self._keys: set[str] = set()

    def fail_next(self, exc: Exception | None = None) -> None:
        self._failures.append(exc or LinePushError("simulated failure"))

    @property
    def pushes(self) -> list[LineCall]:
        return [c for c in self.calls if c.op == "push"]

    def texts_to(self, user_id: str) -> list[str]:
        return [m.get("text", "") for c in self.pushes if c.user_id == user_id for m in c.messages]

    async def push(self, tenant: str, user_id: str, messages: list[dict], retry_key: str) -> None:
        if self._failures:
            raise self._failures.pop(0)
        if retry_key in self._keys:
            return  # LINE answers 409: delivered before, not delivered again
        self._keys.add(retry_key)
        self.calls.append(LineCall("push", tenant, user_id, [dict(m) for m in messages], retry_key=retry_key))

    async def mark_as_read(self, tenant: str, user_id: str) -> None:
        self.calls.append(LineCall("mark_as_read", tenant, user_id))

    async def show_loading(self, tenant: str, user_id: str, seconds: int = 20) -> None:
        self.calls.append(LineCall("show_loading", tenant, user_id, seconds=seconds))

    def ops(self) -> list[str]:
        return [c.op for c in self.calls]


