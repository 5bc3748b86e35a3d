"""Photos of field reports: images only, size- and pixel-limited, re-encoded as JPEG so that no EXIF
(GPS, device, owner) or anything hidden in the file survives; turned upright from the EXIF orientation
before the tag is dropped. (The residents' uploader is not exposed through its services, so grids keeps
this small validator of its own.)"""

from __future__ import annotations

import io
import warnings
from typing import Any

from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError

from tongxin.core.errors import ValidationFailed

MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PHOTO_PIXELS = 40_000_000  # a 40-megapixel phone photo; above that the decoder is a bomb risk
STORED_SIDE = 1600  # the longer side kept: enough to read a sign, small on a poor connection
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "MPO"}


def photo_prepare(upload: Any, *, field: str, label: str = "照片") -> ContentFile:
    """Check one upload and return the re-encoded copy to store; ValidationFailed names ``field``."""
    size = getattr(upload, "size", None) or 0
    if size == 0:
        raise ValidationFailed(fields={field: f"{label}文件为空"})
    if size > MAX_PHOTO_BYTES:
        raise ValidationFailed(fields={field: f"{label}不能超过 {MAX_PHOTO_BYTES // (1024 * 1024)} MB"})
    data = upload.read()
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image: Image.Image = Image.open(io.BytesIO(data))
            if image.format not in ACCEPTED_FORMATS:
                raise ValidationFailed(fields={field: f"{label}只接受 JPEG、PNG、WebP 或 GIF 图片"})
            if image.width * image.height > MAX_PHOTO_PIXELS:
                raise ValidationFailed(fields={field: f"{label}像素过多，请缩小后再上传"})
            image.load()  # decodes every pixel: a truncated or corrupt file fails here
            image = ImageOps.exif_transpose(image)
            image.thumbnail((STORED_SIDE, STORED_SIDE))
        except ValidationFailed:
            raise
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
                Image.DecompressionBombWarning):
            raise ValidationFailed(fields={field: f"{label}不是有效的图片"}) from None
    if image.mode not in ("RGB", "L"):
        background = Image.new("RGB", image.size, (255, 255, 255))
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    out = io.BytesIO()
    image.save(out, "JPEG", quality=82)  # no exif= argument: no metadata is carried over
    return ContentFile(out.getvalue(), name="photo.jpg")
