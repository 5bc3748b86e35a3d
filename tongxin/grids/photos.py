"""Photos of field reports: images only, size- and pixel-limited, re-encoded as JPEG so that no EXIF
(GPS, device, owner) or anything hidden in the file survives; turned upright from the EXIF orientation
before the tag is dropped. The checks and the re-encoding are tongxin.core.images'; the limits are the
grid workers' own."""

from __future__ import annotations

from typing import Any

from django.core.files.base import ContentFile

from tongxin.core.images import image_reencode

MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PHOTO_PIXELS = 40_000_000  # a 40-megapixel phone photo; above that the decoder is a bomb risk
STORED_SIDE = 1600  # the longer side kept: enough to read a sign, small on a poor connection


def photo_prepare(upload: Any, *, field: str, label: str = "照片") -> ContentFile:
    """Check one upload and return the re-encoded copy to store; ValidationFailed names ``field``."""
    image = image_reencode(upload, field=field, label=label, max_bytes=MAX_PHOTO_BYTES,
                           max_pixels=MAX_PHOTO_PIXELS, max_side=STORED_SIDE, quality=82)
    return ContentFile(image.data, name="photo.jpg")
