"""Hypothesis fuzzing of every form and JSON endpoint of the composed app (every POST in the route table): whatever
the body — form, JSON, multipart, raw bytes; wrong types, huge or odd text, missing or wrong CSRF token — the answer
is never a 5xx, and a refused request (4xx) leaves the stored data exactly as it was.

Staff routes are driven with a session of a role they allow (so the handler, not only the gate, sees the input);
the pre-login forms (login, second factor, logout) without one.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from staff.shell import is_staff_path
from tests.security.conftest import LiveWeb
from tests.security.test_authorization_matrix import _PARAM, _ROUTES, fill_params

FIELDS = ["text", "message", "labels", "category", "to", "client_id", "area", "area_codes", "language", "all_friends",
          "send_at", "link_url", "image_url", "id", "question", "answer", "url", "updated", "keywords", "version", "token",
          "town", "reason", "code", "current", "new", "again", "tenant", "username", "password", "next", "q", "file"]
text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=300) | st.sampled_from(
    ["", " ", "0", "-1", "1e309", "NaN", "null", "[]", "{}", "<script>alert(1)</script>", "' OR 1=1 --", "../../etc/passwd",
     "\x00", "\u202e", "２７２０５", "a" * 5001, "http://169.254.169.254/", "javascript:alert(1)", "2026-13-45T99:99"])
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4), max_leaves=12)
form = st.dictionaries(st.sampled_from(FIELDS) | text.filter(bool), text | st.lists(text, max_size=3), max_size=8)
json_body = st.dictionaries(st.sampled_from(FIELDS) | text, json_values, max_size=8) | json_values

POSTS = sorted({(path, roles) for method, path, roles in _ROUTES if method == "POST" and is_staff_path(path)})


@st.composite
def requests_for(draw, live: LiveWeb, path: str):
    chosen = {}
    for name in _PARAM.findall(path):
        choice = draw(st.sampled_from(["seeded", "seeded", "other", "random"]))
        if name == "action":
            chosen[name] = draw(st.sampled_from(["take", "send", "typing", "read", "note", "emergency", "transfer", "join", "handback", "close", "x"]))
        elif choice == "other":
            chosen[name] = "x"
        elif choice == "random":
            chosen[name] = quote(draw(text.filter(bool)), safe="")
    url = fill_params(live, path, chosen)  # seeded ids, or what the route's pattern accepts
    kind = draw(st.sampled_from(["form", "json", "multipart", "raw"]))
    with_csrf = draw(st.integers(0, 9)) > 0  # mostly valid: the handlers behind the gate must see the input
    if kind == "form":
        return url, {"data": draw(form)}, with_csrf
    if kind == "json":
        return url, {"data": json.dumps(draw(json_body)), "headers": {"Content-Type": "application/json"}}, with_csrf
    if kind == "multipart":
        fields = draw(form)
        files = {"file": ("faq.csv", draw(st.binary(max_size=2000)), draw(st.sampled_from(["text/csv", "application/octet-stream"])))}
        return url, {"data": {k: v for k, v in fields.items() if isinstance(v, str)}, "files": files}, with_csrf
    ctype = draw(st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"]))
    return url, {"data": draw(st.binary(max_size=2000)), "headers": {"Content-Type": ctype}}, with_csrf


@pytest.mark.parametrize("path,roles", POSTS, ids=[p for p, _ in POSTS])
def test_fuzzed_bodies_never_5xx_and_refusals_change_nothing(live, path, roles):
    role = roles[0] if roles else None
    session = live.session("demo", role)
    csrf = session.headers.pop("X-CSRF-Token", "")

    @given(req=requests_for(live, path))
    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(req):
        url, kwargs, with_csrf = req
        headers = {"Accept": "application/json", **kwargs.pop("headers", {})}
        if with_csrf and csrf:
            headers["X-CSRF-Token"] = csrf
        before = live.snapshot()
        resp = session.post(live.base + url, headers=headers, allow_redirects=False, timeout=30, **kwargs)
        assert resp.status_code < 500, (url, resp.status_code, resp.text[:300])
        if 400 <= resp.status_code < 500:
            assert live.snapshot() == before, (url, resp.status_code, "a refused request changed stored data")

    run()
