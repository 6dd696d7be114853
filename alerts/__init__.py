"""Alerts room: subscriptions, JMA 防災情報XML feeds, targeting, alert messages.

The composition root wires it (``app.ports.wire_alerts``: everything built from a Redis client and the shared
ports); the pieces stay importable for tests and for other rooms (``alerts.geo.Gazetteer`` for geocoding).
"""

from alerts.feeds import FeedConfig, schedule_jobs
from alerts.geo import Gazetteer
from alerts.service import process_telegram

__all__ = ["FeedConfig", "Gazetteer", "process_telegram", "schedule_jobs"]
