"""The disaster room on fakes: memory stores, the recording Rich Menu API, an audit list, a manual clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from alerts.geo import Gazetteer
from bot.chat import Incoming
from bot.config import Tenant
from disaster.cli import BUNDLED
from disaster.richmenu import RecordingRichMenuApi
from disaster.service import DisasterDeps, DisasterPolicy, import_shelters
from disaster.shelters import parse_csv
from disaster.store import MemoryDisasterStore, MemoryShelterStore
from nlu.rasa_components.textfold import fold
from tests.helpers import ManualClock

LANGS = ["ja", "ja-easy", "en", "zh-Hans", "ko", "vi"]
DEMO = Tenant(id="demo", display_name="デモ市", lg_code="271004", languages=LANGS)  # type: ignore[arg-type]
SUITA = Tenant(id="suita", display_name="吹田市", lg_code="272051", languages=["ja", "en"])  # type: ignore[list-item]
KISHIWADA_STATION = (34.4615, 135.3716)  # 南海岸和田駅の近く
SUITA_STATION = (34.7625, 135.5160)  # JR吹田駅の近く


@dataclass
class World:
    deps: DisasterDeps
    api: RecordingRichMenuApi
    clock: ManualClock
    audit: list[tuple[str, str, str, str, dict[str, Any]]] = field(default_factory=list)


def areas_of_factory():
    g = Gazetteer.load()

    def areas_of(code: str) -> set[str]:
        unit = g.get(code) or (g.get(code[:5]) if len(code) == 7 else None)
        if unit is not None:
            return {unit.jis5} | ({unit.parent} if unit.parent else set())
        return set(g.expand_area(code))

    return areas_of


_AREAS = None


def world(policies: dict[str, DisasterPolicy] | None = None, store=None, shelters=None) -> World:
    global _AREAS
    _AREAS = _AREAS or areas_of_factory()
    api, clock = RecordingRichMenuApi(), ManualClock()
    log: list = []

    async def audit(tenant: str, actor: str, action: str, target: str, detail: dict[str, Any]) -> None:
        log.append((tenant, actor, action, target, detail))

    deps = DisasterDeps(
        store=store or MemoryDisasterStore(), shelters=shelters or MemoryShelterStore(), menus_api=api,
        tenants={"demo": DEMO, "suita": SUITA}, audit=audit, areas_of=_AREAS, policies=policies or {}, clock=clock,
        fold=fold,
    )
    return World(deps, api, clock, log)


async def with_bundled_shelters(w: World, tenant: str = "demo") -> None:
    for path in BUNDLED:
        await import_shelters(w.deps, tenant, parse_csv(path.read_bytes()).shelters, "test", path.name)


def incoming(kind: str, tenant: Tenant = DEMO, user: str = "U1", language: str = "ja", **kw: Any) -> Incoming:
    return Incoming(tenant=tenant, user_id=user, kind=kind, webhook_event_id="e", timestamp_ms=0, language=language, **kw)  # type: ignore[arg-type]
