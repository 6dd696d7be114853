"""The NLU port: what the router asks ("what does this resident want?") and the shape of the answer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal, Protocol

from nlu.intents import FALLBACK_INTENT

Source = Literal["rasa", "fallback"]


@dataclass(frozen=True)
class Parse:
    intent: str  # one of nlu.intents.ALL_INTENTS, or FALLBACK_INTENT when the classifier is not sure
    confidence: float
    entities: list[dict] = field(default_factory=list)  # Rasa-style {entity, value, start, end, ...}
    source: Source = "fallback"

    @property
    def is_confident(self) -> bool:
        return self.intent != FALLBACK_INTENT

    def to_dict(self) -> dict:
        return asdict(self)


class NluUnavailable(Exception):
    """The NLU backend did not answer (down, slow, bad response, or its circuit is open)."""


class Nlu(Protocol):
    async def parse(self, text: str) -> Parse:
        """Classify one resident message. Implementations never see the crisis layer: it runs before them."""
        ...
