"""The grids world: the shared test world plus a second grid in community A, a community and grid in
town B, and a grid worker of town B (who must see nothing of town A)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tongxin.accounts.choices import Role
from tongxin.accounts.services import role_grant
from tongxin.regions.choices import AreaLevel
from tongxin.regions.models import Area
from tongxin.regions.services import area_upsert
from tongxin.testing import World, make_user, square


@dataclass
class GridWorld:
    w: World
    grid_a2: Area
    community_b: Area
    grid_b: Area

    def user(self, name: str):
        return self.w.user(name)


@pytest.fixture
def gw(world) -> GridWorld:
    grid_a2 = area_upsert(code="150602001001G02", name="甲二网格", level=AreaLevel.GRID, parent=world.community_a,
                          boundary=square(107.25, 37, 0.25))
    community_b = area_upsert(code="150603001001", name="乙社区", level=AreaLevel.COMMUNITY, parent=world.town_b,
                              boundary=square(109, 37, 0.5))
    grid_b = area_upsert(code="150603001001G01", name="乙一网格", level=AreaLevel.GRID, parent=community_b,
                         boundary=square(109, 37, 0.25))
    worker_b = make_user("grid_worker_b", display_name="乙网格员")
    role_grant(user=worker_b, role=Role.GRID_WORKER, area=grid_b)
    world.users["grid_worker_b"] = worker_b
    community_worker = make_user("grid_worker_c", display_name="甲社区网格员")
    role_grant(user=community_worker, role=Role.GRID_WORKER, area=world.community_a)
    world.users["grid_worker_c"] = community_worker
    from tongxin.grids.services import opinion_topics_ensure

    opinion_topics_ensure()  # a transactional test elsewhere may have flushed the migration's rows
    return GridWorld(w=world, grid_a2=grid_a2, community_b=community_b, grid_b=grid_b)


def jpeg(width: int = 64, height: int = 48, *, exif_gps: bool = False, name: str = "p.jpg") -> SimpleUploadedFile:
    image = Image.new("RGB", (width, height), (200, 60, 40))
    out = io.BytesIO()
    if exif_gps:
        exif = Image.Exif()
        exif[0x010F] = "TestCam"  # Make
        gps = exif.get_ifd(0x8825)
        gps[1], gps[2], gps[3], gps[4] = "N", (37.0, 10.0, 0.0), "E", (107.0, 10.0, 0.0)
        image.save(out, "JPEG", exif=exif)
    else:
        image.save(out, "JPEG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
