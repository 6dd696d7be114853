"""Disaster room: rich menus (normal + disaster, per language), disaster mode, the shelter finder, 安否 share links.

The door for the composition root is ``wire_disaster`` (ports from a Redis client, the Rich Menu API adapter and the
audit port); ``DisasterRoom`` is included in the dispatcher (before alerts), ``language_menu_middleware`` after the user
middleware, ``service.on_telegram`` is the alerts pipeline's observer, ``service.sync`` a scheduler job,
``web.create_app`` the staff page and ``web.public_routes`` the dashboard's open-shelter list.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from bot.redis_client import RedisClient
from disaster.chat import DisasterRoom, language_menu_middleware
from disaster.cli import seed_demo
from disaster.menus import MenuError, menu_specs
from disaster.richmenu import RichMenuApi
from disaster.service import Audit, DisasterDeps, DisasterError, DisasterPolicy, on_telegram, sync
from disaster.store import RedisDisasterStore, RedisShelterStore


def wire_disaster(
    client: RedisClient,
    tenants: Mapping[str, Any],
    menus_api: RichMenuApi,
    audit: Audit,
    areas_of: Callable[[str], set[str]],
    configs: Mapping[str, tuple[dict | None, dict | None]],
    places: Callable[[str, str], Awaitable[list[tuple[str, float, float]]]] | None = None,
    fold: Callable[[str], str] | None = None,
) -> DisasterDeps:
    """``configs``: tenant → (its ``rich_menus`` block, its ``disaster`` block); both validated here (fail at start)."""
    policies = {}
    for tid, (menus, policy) in configs.items():
        try:
            menu_specs(menus)
            policies[tid] = DisasterPolicy.model_validate(policy or {})
        except (MenuError, ValueError) as exc:
            raise DisasterError(f"tenant {tid}: {exc}") from exc
    extra = {"fold": fold} if fold is not None else {}
    return DisasterDeps(
        store=RedisDisasterStore(client),
        shelters=RedisShelterStore(client),
        menus_api=menus_api,
        tenants=tenants,
        audit=audit,
        areas_of=areas_of,
        policies=policies,
        menu_config={tid: menus for tid, (menus, _) in configs.items()},
        places=places,
        **extra,
    )


def scheduled_sync(deps: DisasterDeps, demo_tenants: list[str]) -> Callable[[], Awaitable[None]]:
    """The scheduler's job: seed the demo tenants' shelters (when empty), upload changed menus, finish switches."""

    async def job() -> None:
        await seed_demo(deps, demo_tenants)
        await sync(deps, list(deps.tenants))

    return job


__all__ = [
    "DisasterDeps",
    "DisasterError",
    "DisasterRoom",
    "language_menu_middleware",
    "on_telegram",
    "scheduled_sync",
    "sync",
    "wire_disaster",
]
