"""通報: residents report broken roads, lights and parks from LINE and hear back when it is fixed.

Door: ``ReportsRoom`` (chat), ``reports.web.create_app`` (/admin/reports), ``reports.open311.create_app``
(/open311/v2/{tenant}/...), the service functions in ``reports.service`` and the ports in ``reports.store`` /
``reports.photos``. The composition root (``app/reports.py``) builds ``ReportsDeps`` with ``reports.wiring.build_deps`` and
plugs the room in with ``dispatcher.include_session``.
"""

from reports.chat import ReportsRoom
from reports.config import ReportsConfig
from reports.model import Draft, Report
from reports.service import ReportError, ReportsDeps

__all__ = ["Draft", "Report", "ReportError", "ReportsConfig", "ReportsDeps", "ReportsRoom"]
