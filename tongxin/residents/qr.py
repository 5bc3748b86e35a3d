"""The printed code: PNG and SVG through segno (pure Python), error correction M (a sticker gets dirty)."""

from __future__ import annotations

import io

import segno


def qr_png(url: str, *, scale: int = 8) -> bytes:
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=scale, border=2)
    return out.getvalue()


def qr_svg(url: str, *, scale: int = 4, xml_decl: bool = True) -> str:
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=scale, border=2, xmldecl=xml_decl, svgns=True,
                                    svgclass="qr", lineclass=None, omitsize=not xml_decl)
    return out.getvalue().decode("utf-8")
