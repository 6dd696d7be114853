"""Browser tests keep `make test` from dirtying the tree: README pictures are refreshed only on request."""

from __future__ import annotations

import subprocess

from tests.browser import ARTIFACTS, README_IMAGES, REPO, UPDATE_SCREENSHOTS, readme_screenshots


def _ignored(path) -> bool:
    probe = path / "probe.png"
    return subprocess.run(["git", "check-ignore", "-q", str(probe)], cwd=REPO).returncode == 0


def test_by_default_pictures_go_to_an_ignored_folder_not_docs(monkeypatch):
    monkeypatch.delenv(UPDATE_SCREENSHOTS, raising=False)
    folder = readme_screenshots()
    assert folder.is_relative_to(ARTIFACTS) and not folder.is_relative_to(README_IMAGES)
    assert _ignored(folder)


def test_refreshing_the_readme_pictures_is_an_explicit_opt_in(monkeypatch):
    monkeypatch.setenv(UPDATE_SCREENSHOTS, "1")
    assert readme_screenshots() == README_IMAGES
    assert not _ignored(README_IMAGES)
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert f"{UPDATE_SCREENSHOTS}=1" in makefile and "screenshots:" in makefile
    assert "make screenshots" in (REPO / "README.md").read_text(encoding="utf-8")

