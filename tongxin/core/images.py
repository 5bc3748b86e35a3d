"""Uploaded images, checked and re-encoded in one place: the residents' 随手拍 photos, the grid workers'
field photos and the image attachments of work orders all come through here.

The steps, in order: the type is sniffed from the first bytes (the file's name and declared type are
ignored); size and pixel count are checked before any pixel is decoded (a decompression bomb is a few
hundred bytes that claim gigapixels); Pillow opens the file with the one decoder the bytes claim, never
any other (no EPS/Ghostscript, no PSD); a large JPEG is decoded at 1/2, 1/4 or 1/8 scale (DCT scaling,
``Image.draft``) when a smaller copy is all we keep; every pixel is decoded (a truncated file fails
here); the picture is turned upright from its EXIF orientation; and our own encoding of the pixels is
returned. Re-encoding, rather than stripping tags from the original bytes, drops whatever else rode in
the file: EXIF (GPS, device, owner), XMP, ICC profiles, JPEG comments, PNG text chunks, a script
appended after the image data.

Every refusal is a ``ValidationFailed`` naming the caller's field, with a Chinese message that starts
with the caller's label (``照片``, ``现场照片``, ``图片附件``).
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass
from typing import Any, Literal

from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from .errors import ValidationFailed

# The content types we decode, and the Pillow decoders each may use (MPO: a phone's multi-picture JPEG).
IMAGE_TYPES: dict[str, tuple[str, ...]] = {
    "image/jpeg": ("JPEG", "MPO"), "image/png": ("PNG",), "image/gif": ("GIF",), "image/webp": ("WEBP",),
}
ACCEPTED_FORMATS = frozenset(f for formats in IMAGE_TYPES.values() for f in formats)
# Pictures we recognise but do not take: the user is told which formats we take rather than "not an
# image" (an iPhone's HEIC is the common case).
OTHER_IMAGE_TYPES = frozenset({"image/heic", "image/avif", "image/bmp", "image/tiff"})
MAX_PIXELS = 40_000_000  # a 40-megapixel phone photo; more is a decompression bomb risk
SNIFF_BYTES = 16  # enough for every signature below

_MAGIC = [
    (b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"), (b"%PDF-", "application/pdf"), (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"), (b"MM\x00*", "image/tiff"),
]
_ISO_BRANDS = {b"heic": "image/heic", b"heix": "image/heic", b"hevc": "image/heic", b"mif1": "image/heic",
               b"avif": "image/avif"}

GPS_IFD = 0x8825
ORIENTATION = 0x0112
# EXIF orientation → the transposition that makes the picture upright (as ImageOps.exif_transpose).
TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_PNG_MODES = {"1", "L", "LA", "P", "RGB", "RGBA"}
# What Pillow raises on a file that is not what it claims, truncated or corrupt.
_DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError,
                  TypeError, ZeroDivisionError)


def sniff(head: bytes) -> str | None:
    """The content type the first bytes of a file prove (``SNIFF_BYTES`` are enough), or None."""
    for magic, content_type in _MAGIC:
        if head.startswith(magic):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        return _ISO_BRANDS.get(head[8:12])
    return None


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


@dataclass(frozen=True)
class Reencoded:
    """Our own encoding of an uploaded picture: no metadata, upright."""

    data: bytes
    content_type: str  # image/jpeg, image/png or image/webp
    width: int
    height: int
    point: tuple[float, float] | None  # (lng, lat) WGS-84 from the original's EXIF, when it had one


def _read(upload: Any) -> tuple[int | None, Any]:
    if isinstance(upload, bytes | bytearray | memoryview):
        return len(upload), bytes(upload)
    return getattr(upload, "size", None), None


def _flatten(image: Image.Image) -> Image.Image:
    """RGB or L for JPEG: transparency painted onto white (as a phone's gallery shows it)."""
    if image.mode in ("RGB", "L"):
        return image
    if image.mode in ("RGBA", "LA", "PA", "P", "La", "RGBa") or "transparency" in image.info:
        background = Image.new("RGB", image.size, (255, 255, 255))
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")  # CMYK, YCbCr, 16-bit greyscale …


def _encode(image: Image.Image, kind: str, output: str, quality: int, optimize: bool) -> tuple[bytes, str]:
    # Only what the pixels need survives: a palette's transparent index (GIF → PNG). Anything else in
    # ``info`` (an ICC profile, a JPEG comment) is written back by some of Pillow's encoders.
    image.info = {k: v for k, v in image.info.items() if k == "transparency"}
    out = io.BytesIO()
    if output == "jpeg" or kind == "image/jpeg":
        image = _flatten(image)
        image.info = {}
        image.save(out, "JPEG", quality=quality, optimize=optimize)  # no exif= argument: nothing carried over
        return out.getvalue(), "image/jpeg"
    if kind == "image/webp":
        image.save(out, "WEBP", quality=quality)
        return out.getvalue(), "image/webp"
    if image.mode not in _PNG_MODES:
        image = image.convert("RGBA")
    image.save(out, "PNG", optimize=optimize)  # a GIF becomes its first frame as PNG
    return out.getvalue(), "image/png"


def image_reencode(
    upload: Any, *, field: str, label: str, max_bytes: int | None = None, max_pixels: int = MAX_PIXELS,
    max_side: int | None = None, side_slack: float = 0.0, output: Literal["jpeg", "same"] = "jpeg",
    quality: int = 85, optimize: bool = False,
) -> Reencoded:
    """Check one uploaded picture and return our own encoding of it; ``ValidationFailed`` names ``field``.

    ``upload``: bytes or a file (an ``UploadedFile``; its ``size`` is checked before it is read).
    ``max_side``: the longer side kept; a larger picture is scaled down (a JPEG already while decoding),
    unless it is at most ``side_slack`` (a fraction) above it: a 4032-pixel photo decoded at half scale is
    2016 pixels wide, and a second resampling for 16 pixels is not worth its cost.
    ``output``: ``"jpeg"`` always (a photo), or ``"same"``: JPEG and WebP stay so, PNG and GIF become PNG.
    """
    def refuse(message: str) -> ValidationFailed:
        return ValidationFailed(fields={field: message % {"label": label}})

    size, data = _read(upload)
    if size is None:
        data = upload.read()
        size = len(data)
    if max_bytes is not None and size > max_bytes:
        raise ValidationFailed(fields={field: _("%(label)s不能超过 %(mb)s MB") % {
            "label": label, "mb": max_bytes // (1024 * 1024)}})
    if data is None:
        data = upload.read() if size else b""
    if not data:
        raise refuse(_("%(label)s文件为空"))
    kind = sniff(data[:SNIFF_BYTES])
    if kind in OTHER_IMAGE_TYPES:
        raise refuse(_("%(label)s只接受 JPEG、PNG、WebP 或 GIF 图片"))
    if kind not in IMAGE_TYPES:
        raise refuse(_("%(label)s不是有效的图片"))
    with warnings.catch_warnings():
        # Pillow only warns between its own limit and twice that: we refuse, whatever our own limit is.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image: Image.Image = Image.open(io.BytesIO(data), formats=list(IMAGE_TYPES[kind]))
            if image.width * image.height > max_pixels:
                raise refuse(_("%(label)s像素过多，请缩小后再上传"))
            point = exif_point(image)
            orientation = image.getexif().get(ORIENTATION, 1)
            if max_side and image.format in ("JPEG", "MPO") and max(image.size) > max_side:
                # DCT scaling: a 12-megapixel photo then costs a fraction of a full decode. Never below
                # the kept size.
                ratio = max_side / max(image.size)
                image.draft("RGB", (math.ceil(image.width * ratio), math.ceil(image.height * ratio)))
            image.load()  # decodes every pixel: a truncated or corrupt file fails here
            if max_side and max(image.size) > max_side * (1 + side_slack):
                image.thumbnail((max_side, max_side), reducing_gap=2.0)
            if orientation in TRANSPOSE:
                image = image.transpose(TRANSPOSE[orientation])  # upright once the tag is gone
            encoded, content_type = _encode(image, kind, output, quality, optimize)
        except ValidationFailed:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise refuse(_("%(label)s像素过多，请缩小后再上传")) from None
        except _DECODE_ERRORS:
            raise refuse(_("%(label)s不是有效的图片")) from None
    return Reencoded(data=encoded, content_type=content_type, width=image.width, height=image.height,
                     point=point)
