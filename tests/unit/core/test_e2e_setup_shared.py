"""Whole-system browser tests share their set-up through helpers (tests/e2e/console_scene.py, conftest fixtures),
not by importing each other's test modules (which also ties one test's edits to another's run)."""

from __future__ import annotations

import ast

from tests.browser import REPO


def test_no_e2e_test_module_imports_another():
    offenders = []
    for path in sorted((REPO / "tests" / "e2e").glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tests.e2e.test_"):
                offenders.append(f"{path.name} imports {node.module}")
    assert offenders == []


def test_the_console_scene_is_what_both_console_tests_use():
    for name in ("test_console_whole_system.py", "test_crisis_review_whole_system.py"):
        source = (REPO / "tests" / "e2e" / name).read_text(encoding="utf-8")
        assert "open_scene(" in source and "console_system" in source and "TENANTS_24_7" not in source
