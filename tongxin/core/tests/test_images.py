"""tongxin.core.images: the one check and re-encoding of every uploaded picture, on real files made with
Pillow (and a few hand-made hostile ones)."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, PngImagePlugin, features

from tongxin.core.errors import ValidationFailed
from tongxin.core.images import ORIENTATION, image_reencode, sniff
from tongxin.testing import real_png

GPS = {1: "N", 2: (39.0, 48.0, 0.0), 3: "E", 4: (109.0, 58.0, 48.0)}  # 39.8 N, 109.98 E: Ordos


def _encode(image: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def _two_colours(size: tuple[int, int] = (40, 20)) -> Image.Image:
    """Left half red, right half blue: which way it is turned shows in the pixels."""
    image = Image.new("RGB", size, "blue")
    image.paste(Image.new("RGB", (size[0] // 2, size[1]), "red"), (0, 0))
    return image


def _exif(orientation: int | None = None, gps: bool = False) -> Image.Exif:
    exif = Image.Exif()
    if orientation:
        exif[ORIENTATION] = orientation
    if gps:
        exif.get_ifd(0x8825).update(GPS)
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x013B] = "张三"  # Artist: the owner's name, which must not survive
    return exif


def upload(data: bytes, name: str = "photo.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def reencode(data, **kwargs):
    kwargs.setdefault("field", "photo")
    kwargs.setdefault("label", "照片")
    return image_reencode(data, **kwargs)


def refusal(data, **kwargs) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as exc:
        reencode(data, **kwargs)
    return exc.value.fields


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png_bomb(side: int = 60_000) -> bytes:
    """A PNG that claims 60000 × 60000 pixels (3.6 gigapixels) in a few hundred bytes."""
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    compressor = zlib.compressobj(9)
    idat = compressor.compress((b"\x00" + b"\x00" * (side // 8)) * 64) + compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


# --- sniffing -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "expected"), [
    (_encode(Image.new("RGB", (4, 4)), "JPEG"), "image/jpeg"),
    (real_png(), "image/png"),
    (_encode(Image.new("P", (4, 4)), "GIF"), "image/gif"),
    (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
    (b"%PDF-1.7\n", "application/pdf"),
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "image/heic"),
    (b"BM6\x00\x00\x00", "image/bmp"),
    (b"<html><script>alert(1)</script>", None),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", None),
    (b"", None),
])
def test_sniff_reads_the_bytes(data, expected):
    assert sniff(data[:16]) == expected


# --- good pictures --------------------------------------------------------------------------------------

def test_jpeg_with_exif_is_reencoded_without_any_metadata_and_its_point_kept():
    data = _encode(_two_colours(), "JPEG", exif=_exif(gps=True), comment=b"<script>alert(1)</script>")
    result = reencode(upload(data))
    assert result.content_type == "image/jpeg" and (result.width, result.height) == (40, 20)
    assert result.point == (109.98, 39.8)
    with Image.open(io.BytesIO(result.data)) as stored:
        assert stored.format == "JPEG" and not stored.getexif()
        assert "comment" not in stored.info and "icc_profile" not in stored.info
    assert b"<script" not in result.data and "张三".encode() not in result.data and b"PhoneMaker" not in result.data


def test_png_with_exif_and_text_chunks_loses_them():
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "王五 13900001111")
    info.add_itxt("Comment", "<script>alert(1)</script>")
    data = _encode(Image.new("RGBA", (30, 30), (0, 128, 0, 128)), "PNG", pnginfo=info, exif=_exif(gps=True))
    with Image.open(io.BytesIO(data)) as original:  # the test file really carries them
        original.load()
        assert original.info.get("Author") and original.getexif()
    for output, fmt in (("jpeg", "JPEG"), ("same", "PNG")):
        result = reencode(data, output=output)
        with Image.open(io.BytesIO(result.data)) as stored:
            stored.load()
            assert stored.format == fmt and not stored.getexif(), output
            assert not {"Author", "Comment", "exif"} & set(stored.info), stored.info
        assert b"13900001111" not in result.data and b"<script" not in result.data
    assert reencode(data).point == (109.98, 39.8)


def test_transparency_is_painted_white_in_a_jpeg_and_kept_in_a_png():
    data = _encode(Image.new("RGBA", (8, 8), (255, 0, 0, 0)), "PNG")  # fully transparent red
    with Image.open(io.BytesIO(reencode(data).data)) as stored:
        assert stored.mode == "RGB" and all(c > 245 for c in stored.getpixel((4, 4)))
    with Image.open(io.BytesIO(reencode(data, output="same").data)) as stored:
        assert stored.mode == "RGBA" and stored.getpixel((4, 4))[3] == 0


@pytest.mark.skipif(not features.check("webp"), reason="Pillow built without WebP")
def test_webp_is_accepted_and_stays_webp_when_asked():
    data = _encode(_two_colours(), "WEBP", exif=_exif(gps=True))
    assert sniff(data[:16]) == "image/webp"
    same = reencode(data, output="same", quality=90)
    assert same.content_type == "image/webp" and same.point == (109.98, 39.8)
    with Image.open(io.BytesIO(same.data)) as stored:
        assert stored.format == "WEBP" and not stored.getexif()
    assert reencode(data).content_type == "image/jpeg"


def test_gif_becomes_its_first_frame_as_png():
    frames = [Image.new("P", (10, 10), i) for i in (1, 2)]
    data = io.BytesIO()
    frames[0].save(data, "GIF", save_all=True, append_images=frames[1:])
    result = reencode(data.getvalue(), output="same")
    assert result.content_type == "image/png"
    with Image.open(io.BytesIO(result.data)) as stored:
        assert stored.format == "PNG" and getattr(stored, "n_frames", 1) == 1


def test_real_png_of_the_test_helpers_passes():
    assert reencode(real_png()).content_type == "image/jpeg"


def test_an_orientation_6_photo_ends_upright():
    """The phone held upright writes a landscape sensor image and orientation 6 (turn 90° clockwise)."""
    data = _encode(_two_colours((40, 20)), "JPEG", exif=_exif(orientation=6))
    for output in ("jpeg", "same"):
        result = reencode(data, output=output)
        assert (result.width, result.height) == (20, 40)
        with Image.open(io.BytesIO(result.data)) as stored:
            assert stored.size == (20, 40) and ORIENTATION not in stored.getexif()  # no viewer turns it again
            top, bottom = stored.convert("RGB").getpixel((10, 5)), stored.convert("RGB").getpixel((10, 35))
        assert top[0] > 200 and top[2] < 60, top  # the left (red) half is now on top
        assert bottom[2] > 200 and bottom[0] < 60, bottom


def test_a_large_jpeg_is_scaled_while_decoding_and_a_few_pixels_over_are_kept():
    data = _encode(Image.new("RGB", (4000, 3000), "green"), "JPEG")
    exact = reencode(data, max_side=1600)
    assert max(exact.width, exact.height) == 1600 and (exact.width, exact.height) == (1600, 1200)
    # Half-scale decoding gives 2000 × 1500; with 25 % slack a 1700 side keeps it without resampling.
    slack = reencode(data, max_side=1700, side_slack=0.25)
    assert (slack.width, slack.height) == (2000, 1500)
    small = reencode(_encode(Image.new("RGB", (300, 200)), "JPEG"), max_side=1600)
    assert (small.width, small.height) == (300, 200)  # never scaled up


# --- refusals -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("data", [
    b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF",
    b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>",
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200,
])
def test_a_file_named_jpg_that_is_not_an_image_is_refused(data):
    assert refusal(upload(data, "photo.jpg"), field="photos", label="照片") == {"photos": "照片不是有效的图片"}


def test_a_truncated_jpeg_is_refused():
    data = _encode(Image.effect_noise((400, 300), 64).convert("RGB"), "JPEG")
    assert refusal(data[: len(data) // 2], label="现场照片") == {"photo": "现场照片不是有效的图片"}


def test_a_jpeg_header_with_garbage_is_refused():
    assert refusal(b"\xff\xd8\xff\xe0" + b"garbage" * 10) == {"photo": "照片不是有效的图片"}


def test_a_decompression_bomb_is_refused_before_decoding():
    assert refusal(_png_bomb()) == {"photo": "照片像素过多，请缩小后再上传"}
    # Under Pillow's own limit but over ours: our limit is what counts.
    assert refusal(_encode(Image.new("RGB", (100, 100)), "JPEG"), max_pixels=1000) == {
        "photo": "照片像素过多，请缩小后再上传"}


def test_a_picture_in_a_format_we_do_not_take_says_which_we_take():
    assert refusal(_encode(Image.new("RGB", (4, 4)), "BMP")) == {"photo": "照片只接受 JPEG、PNG、WebP 或 GIF 图片"}
    heic = b"\x00\x00\x00\x18ftypheic" + b"\x00" * 100
    assert refusal(heic, label="现场照片") == {"photo": "现场照片只接受 JPEG、PNG、WebP 或 GIF 图片"}


def test_size_limits_are_checked_before_reading():
    big = upload(_encode(Image.new("RGB", (4, 4)), "JPEG"))
    big.size = 8 * 1024 * 1024 + 1
    assert refusal(big, max_bytes=8 * 1024 * 1024) == {"photo": "照片不能超过 8 MB"}
    assert refusal(upload(b"")) == {"photo": "照片文件为空"}
    assert refusal(b"") == {"photo": "照片文件为空"}
