"""Public KPI dashboard, open data and operational metrics (issue 10).

Doors:
- ``kpi.recorder``: the ``KpiRecorder`` port rooms call (``MemoryKpiRecorder``, ``RedisKpiRecorder``,
  ``BestEffortRecorder``); counts only — no text, no user ids.
- ``kpi.service``: ``kpi_middleware(recorder)`` for the chat router, ``take_snapshots(...)`` for the scheduler.
- ``kpi.web``: ``setup(app, KpiWebDeps(...))`` adds ``/dashboard``, ``/dashboard/{tenant}``, ``/opendata/...``.
- ``kpi.metrics``: ``create_metrics(process)``, ``webhook_middleware``, ``metrics_handler``, ``serve_metrics``.
- ``kpi.health``: ``readiness(probes)``, ``readyz_handler``, probes, ``FeedStatus`` port.
- ``kpi.aggregate`` / ``kpi.opendata``: pure functions with the privacy rule (「5未満」).
"""
