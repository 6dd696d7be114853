"""DAST: schemathesis over the OpenAPI description the project publishes (/staff/api/openapi.json), against the
composed app with a supervisor's session of the tenant ``demo``: no 5xx, status codes, content types and bodies as
described, invalid input refused. A signed-out run checks that nothing but the health checks answers without login.

Each operation is one test (schemathesis' own pytest loader does not run under pytest 9, so its Hypothesis strategy
per operation is driven here).
"""

from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from staff.web import OPENAPI_FILE, load_openapi

SCHEMA = schemathesis.openapi.from_dict(load_openapi())
OPERATIONS = {op.label: op for op in (r.ok() for r in SCHEMA.get_all_operations())}


def test_the_published_description_is_the_file(live):
    assert requests.get(live.base + "/staff/api/openapi.json", timeout=30).json() == load_openapi()
    assert OPENAPI_FILE.exists() and len(OPERATIONS) >= 8


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_staff_api_as_a_supervisor(live, label):
    session = live.session("demo", "supervisor")

    # /readyz answers 503 by design while a dependency is not ready (here: no feed was ever polled); it is described
    excluded = [not_a_server_error] if label == "GET /readyz" else []

    @given(case=OPERATIONS[label].as_strategy(), real_id=st.booleans())
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case, real_id):
        if real_id and "cid" in (case.path_parameters or {}):  # half the time a conversation that exists: deeper paths
            case.path_parameters["cid"] = live.ids["cid"]
        resp = case.call_and_validate(base_url=live.base, session=session, headers={"Accept": "application/json"}, excluded_checks=excluded)
        assert resp.status_code < 500 or (label == "GET /readyz" and resp.status_code == 503)

    run()


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_staff_api_without_a_session_is_refused(live, label):
    @given(case=OPERATIONS[label].as_strategy())
    @settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case):
        resp = case.call(base_url=live.base, session=requests.Session(), headers={"Accept": "application/json"})
        assert resp.status_code < 500 or (case.path == "/readyz" and resp.status_code == 503)
        if case.path not in ("/healthz", "/readyz"):
            assert resp.status_code == 401, (case.method, case.formatted_path, resp.status_code)

    run()
