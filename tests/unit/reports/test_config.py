"""The tenants file's ``reports:`` block: the example validates, mistakes name the tenant, labels fall back."""

from __future__ import annotations

import pytest
import yaml

from bot.config import REPO_ROOT
from reports.config import ReportsConfig
from reports.service import category_label
from reports.wiring import configs_for
from tests.helpers import tenant


def test_the_example_tenants_file_block_is_valid():
    raw = yaml.safe_load((REPO_ROOT / "config" / "tenants.example.yaml").read_text(encoding="utf-8"))
    blocks = [t["reports"] for t in raw["tenants"] if t.get("reports")]
    assert blocks
    cfg = ReportsConfig.model_validate(blocks[0])
    assert cfg.category("bicycle").department == "general" and cfg.departments["road"].email


def test_unknown_department_or_setting_names_the_tenant():
    bad = {"suita": tenant("suita", reports={"categories": [{"id": "pothole", "department": "nowhere"}]})}
    with pytest.raises(ValueError, match="(?s)tenant suita: invalid reports settings.*nowhere"):
        configs_for(bad)
    with pytest.raises(ValueError, match="tenant suita"):
        configs_for({"suita": tenant("suita", reports={"max_photoz": 3})})
    assert configs_for({"demo": tenant()})["demo"].max_photos == 3  # no block = defaults


def test_labels_come_from_the_tenant_then_the_catalogue_with_the_fallback_rule():
    cfg = ReportsConfig.model_validate(
        {"categories": [{"id": "bicycle", "department": "general", "labels": {"ja": "放置自転車", "en": "Abandoned bicycle"}},
                        {"id": "pothole", "department": "road", "labels": {"ja": "道路の損傷"}}]}
    )
    assert category_label(cfg, "bicycle", "ko") == "Abandoned bicycle"
    assert category_label(cfg, "bicycle", "ja-easy") == "放置自転車"
    assert category_label(cfg, "pothole", "ja") == "道路の損傷"
    assert category_label(cfg, "pothole", "vi") == "Ổ gà / mặt đường hư"
