"""Photos of a 随手拍 report: prove each upload is an image, read its EXIF GPS point, store a
re-encoded JPEG without any metadata.

The checks and the re-encoding are tongxin.core.images' (shared with the grid workers' photos and the
work orders' attachments); this module holds the residents' limits (``conf``) and the shape the report
service stores. Re-encoding (rather than stripping tags from the original bytes) also removes anything a
crafted file carries after or inside its image data. Decompression bombs are refused by pixel count
before decoding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.utils.translation import gettext as _

from tongxin.core.images import ACCEPTED_FORMATS, GPS_IFD, ORIENTATION, TRANSPOSE, exif_point, image_reencode

from . import conf

__all__ = ["ACCEPTED_FORMATS", "GPS_IFD", "ORIENTATION", "TRANSPOSE", "Photo", "exif_point", "photo_prepare"]


@dataclass
class Photo:
    content: ContentFile
    width: int
    height: int
    point: tuple[float, float] | None  # (lng, lat) WGS-84 from EXIF, when the phone recorded one


def photo_prepare(upload: Any, *, field: str = "photos") -> Photo:
    """Check one upload and return the copy to store. Raises ValidationFailed naming ``field``."""
    image = image_reencode(
        upload, field=field, label=_("照片"), max_bytes=conf.MAX_PHOTO_BYTES, max_pixels=conf.MAX_PHOTO_PIXELS,
        # 4000-pixel phone photos decode at half scale; the few pixels over the side are kept as they are.
        max_side=conf.STORED_PHOTO_SIDE, side_slack=0.25, quality=85,
    )
    return Photo(content=ContentFile(image.data, name="photo.jpg"), width=image.width, height=image.height,
                 point=image.point)
