"""NLU room: intent classification (Rasa service + in-process fallback) and the crisis layer.

The door: the router gets an ``Nlu`` (``ResilientNlu(RasaNlu, FallbackNlu, CircuitBreaker)``) and calls ``assess``
on every message before anything else (``nlu/risk.py``: three levels, several detectors). Nothing here imports rasa: Rasa runs in its own Python 3.10 venv.
"""

from nlu.breaker import CircuitBreaker
from nlu.crisis import CrisisAssessment, CrisisDetector, assess
from nlu.fallback import FallbackNlu
from nlu.intents import (
    ALL_INTENTS,
    CONSULTATION_ROUTES,
    CONSULTATIONS,
    CONTROL,
    FALLBACK_INTENT,
    FAQ_TOPICS,
    group_of,
    is_unknown,
)
from nlu.port import Nlu, NluUnavailable, Parse
from nlu.rasa_client import RasaNlu
from nlu.resilient import ResilientNlu

__all__ = [
    "ALL_INTENTS", "CONSULTATIONS", "CONSULTATION_ROUTES", "CONTROL", "FALLBACK_INTENT", "FAQ_TOPICS",
    "CircuitBreaker", "CrisisAssessment", "CrisisDetector", "FallbackNlu", "Nlu", "NluUnavailable", "Parse",
    "RasaNlu", "ResilientNlu", "assess", "group_of", "is_unknown",
]
