"""Per-tenant settings of the reports room (the ``reports:`` block of a tenant in the tenants file).

Defaults are the categories most Japanese cities use; a tenant overrides them (ids, departments, labels) in YAML::

    reports:
      departments: {road: {name: 道路課, email: road@city.example}}
      categories: [{id: pothole, department: road, labels: {ja: 道路の穴・段差}}]
"""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

DEFAULT_DEPARTMENTS = {
    "road": {"name": "道路課"},
    "park": {"name": "公園課"},
    "environment": {"name": "環境課"},
    "general": {"name": "市民相談課"},
}
DEFAULT_CATEGORIES = [
    {"id": "pothole", "department": "road"},
    {"id": "streetlight", "department": "road"},
    {"id": "playground", "department": "park"},
    {"id": "mirror", "department": "road"},
    {"id": "dumping", "department": "environment"},
    {"id": "graffiti", "department": "general"},
    {"id": "fallen_tree", "department": "park"},
    {"id": "other", "department": "general"},
]


class Department(BaseModel):
    name: str
    email: str = ""  # the daily digest goes here (none = no digest)


class Category(BaseModel):
    id: str = Field(pattern=r"^[a-z0-9_]{1,30}$")
    department: str
    labels: dict[str, str] = Field(default_factory=dict)  # language -> label; missing = the catalogue's label


class ReportsConfig(BaseModel):
    model_config = {"extra": "forbid"}

    enabled: bool = True
    departments: dict[str, Department] = Field(
        default_factory=lambda: {k: Department.model_validate(v) for k, v in DEFAULT_DEPARTMENTS.items()}
    )
    categories: list[Category] = Field(default_factory=lambda: [Category.model_validate(c) for c in DEFAULT_CATEGORIES])
    duplicate_radius_m: float = 30.0
    max_photos: int = Field(default=3, ge=0, le=3)
    max_photo_bytes: int = 10 * 1024 * 1024
    max_photo_pixels: int = 40_000_000
    draft_minutes: int = 30
    reports_per_hour: int = 5  # per resident (LINE) or per API client (Open311: x20)
    retention_days: int = 730  # closed/declined reports (and their photos) are deleted this long after closing
    tile_url: str = ""  # map tiles for the staff map (https://…/{z}/{x}/{y}.png); empty = offline SVG on the outline
    tile_attribution: str = ""  # shown under the map when tiles are used (e.g. 「出典：国土地理院」)
    public_blur_m: float = 10.0
    open311_page_size: int = 1000

    @model_validator(mode="after")
    def _departments_exist(self) -> ReportsConfig:
        for c in self.categories:
            if c.department not in self.departments:
                raise ValueError(f"category {c.id}: unknown department {c.department!r}")
        ids = [c.id for c in self.categories]
        if len(set(ids)) != len(ids):
            raise ValueError("category ids must be unique")
        return self

    def category(self, cid: str) -> Category | None:
        return next((c for c in self.categories if c.id == cid), None)
