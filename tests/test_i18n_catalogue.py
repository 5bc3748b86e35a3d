"""The English catalogue is complete and compiled (docs/i18n.md, "Updating the catalogue"): no fuzzy entry,
no empty translation, the same named placeholders on both sides, and the committed django.mo says
what django.po says (a forgotten compilemessages fails here)."""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

LC_MESSAGES = Path(__file__).resolve().parent.parent / "tongxin" / "locale" / "en" / "LC_MESSAGES"
PLACEHOLDER = re.compile(r"%\((\w+)\)")


def _entries() -> list[dict[str, object]]:
    """The entries of django.po: flags, msgctxt, msgid, msgid_plural, msgstr (or msgstr[n])."""
    entries: list[dict[str, object]] = []
    for block in (LC_MESSAGES / "django.po").read_text(encoding="utf-8").split("\n\n"):
        entry: dict[str, object] = {"flags": set(), "msgstr": {}}
        key = None
        for line in block.splitlines():
            if line.startswith("#,"):
                entry["flags"] = {f.strip() for f in line[2:].split(",")}
            elif line.startswith("#") or not line.strip():
                continue
            elif line.startswith('"'):
                assert key is not None, block
                if key.startswith("msgstr"):
                    entry["msgstr"][key] += ast.literal_eval(line)  # type: ignore[index]
                else:
                    entry[key] = str(entry[key]) + ast.literal_eval(line)
            else:
                key, value = line.split(" ", 1)
                if key.startswith("msgstr"):
                    entry["msgstr"][key] = ast.literal_eval(value)  # type: ignore[index]
                else:
                    entry[key] = ast.literal_eval(value)
        if entry.get("msgid"):
            entries.append(entry)
    return entries


ENTRIES = _entries()


def test_the_catalogue_has_entries():
    assert len(ENTRIES) > 1000


def test_nothing_is_fuzzy_or_untranslated():
    fuzzy = [e["msgid"] for e in ENTRIES if "fuzzy" in e["flags"]]  # type: ignore[operator]
    empty = [e["msgid"] for e in ENTRIES if not all(e["msgstr"].values())]  # type: ignore[attr-defined]
    assert fuzzy == []
    assert empty == []


def test_placeholders_match():
    wrong = []
    for e in ENTRIES:
        wanted = set(PLACEHOLDER.findall(str(e["msgid"])))
        for text in e["msgstr"].values():  # type: ignore[attr-defined]
            if set(PLACEHOLDER.findall(text)) != wanted:
                wrong.append((e["msgid"], text))
    assert wrong == []


def test_the_compiled_catalogue_matches():
    with (LC_MESSAGES / "django.mo").open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)._catalog  # type: ignore[attr-defined]
    stale = []
    for e in ENTRIES:
        key = f"{e['msgctxt']}\x04{e['msgid']}" if "msgctxt" in e else str(e["msgid"])
        if "msgid_plural" in e:
            ok = all(compiled.get((key, int(k[7:-1]))) == v for k, v in e["msgstr"].items())  # type: ignore[attr-defined]
        else:
            ok = compiled.get(key) == e["msgstr"]["msgstr"]  # type: ignore[index]
        if not ok:
            stale.append(e["msgid"])
    assert stale == [], "run compilemessages (docs/i18n.md)"
