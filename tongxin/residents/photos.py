"""Photos of a 随手拍 report: prove each upload is an image, read its EXIF GPS point, store a
re-encoded JPEG without any metadata.

Re-encoding (rather than stripping tags from the original bytes) also removes anything a crafted file
carries after or inside its image data. Decompression bombs are refused by pixel count before decoding.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from PIL import Image, UnidentifiedImageError

from tongxin.core.errors import ValidationFailed

from . import conf

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "MPO"}
GPS_IFD = 0x8825
ORIENTATION = 0x0112
# EXIF orientation → the transposition that makes the picture upright (as ImageOps.exif_transpose).
TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass
class Photo:
    content: ContentFile
    width: int
    height: int
    point: tuple[float, float] | None  # (lng, lat) WGS-84 from EXIF, when the phone recorded one


def _ratio(value: Any) -> float:
    if isinstance(value, tuple) and len(value) == 2:
        return float(value[0]) / float(value[1]) if value[1] else 0.0
    return float(value)


def _dms(values: Any, ref: Any) -> float | None:
    try:
        degrees, minutes, seconds = (_ratio(v) for v in values)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    result = degrees + minutes / 60 + seconds / 3600
    if str(ref or "").upper().startswith(("S", "W")):
        result = -result
    return result


def exif_point(image: Image.Image) -> tuple[float, float] | None:
    """(lng, lat) from the GPS tags. Phones write WGS-84 (the GPS datum) whatever map app they run."""
    try:
        gps = image.getexif().get_ifd(GPS_IFD)
    except Exception:
        return None
    if not gps or 2 not in gps or 4 not in gps:
        return None
    lat, lng = _dms(gps[2], gps.get(1)), _dms(gps[4], gps.get(3))
    if lat is None or lng is None or not (-90 <= lat <= 90 and -180 <= lng <= 180) or (lat == 0 and lng == 0):
        return None
    return round(lng, 7), round(lat, 7)


def photo_prepare(upload: Any, *, field: str = "photos") -> Photo:
    """Check one upload and return the copy to store. Raises ValidationFailed naming ``field``."""
    size = getattr(upload, "size", None) or 0
    if size > conf.MAX_PHOTO_BYTES:
        raise ValidationFailed(fields={field: f"照片不能超过 {conf.MAX_PHOTO_BYTES // (1024 * 1024)} MB"})
    if size == 0:
        raise ValidationFailed(fields={field: "照片文件为空"})
    data = upload.read()
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image: Image.Image = Image.open(io.BytesIO(data))
            if image.format not in ACCEPTED_FORMATS:
                raise ValidationFailed(fields={field: "只接受 JPEG、PNG、WebP 或 GIF 图片"})
            if image.width * image.height > conf.MAX_PHOTO_PIXELS:
                raise ValidationFailed(fields={field: "照片像素过多，请缩小后再上传"})
            point = exif_point(image)
            orientation = image.getexif().get(ORIENTATION, 1)
            side = conf.STORED_PHOTO_SIDE
            if image.format in {"JPEG", "MPO"} and max(image.size) > side:
                # Let the JPEG decoder scale by 1/2, 1/4 or 1/8 while decoding (DCT scaling): a 12-megapixel
                # phone photo then costs a fraction of a full decode. Never below the stored size.
                ratio = side / max(image.size)
                image.draft("RGB", (math.ceil(image.width * ratio), math.ceil(image.height * ratio)))
            image.load()  # decodes every pixel: a truncated or corrupt file fails here
            if max(image.size) > side * 1.25:  # a few pixels over (2016 after half-scale decoding) are kept
                image.thumbnail((side, side), reducing_gap=2.0)
            if orientation in TRANSPOSE:
                image = image.transpose(TRANSPOSE[orientation])  # upright once the tag is gone
        except ValidationFailed:
            raise
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
                Image.DecompressionBombWarning):
            raise ValidationFailed(fields={field: "文件不是有效的图片"}) from None
    if image.mode not in ("RGB", "L"):
        background = Image.new("RGB", image.size, (255, 255, 255))
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, optimize=False)  # no exif= argument: nothing is carried over
    return Photo(content=ContentFile(out.getvalue(), name="photo.jpg"), width=image.width,
                 height=image.height, point=point)
