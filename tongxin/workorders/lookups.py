"""Reads for the operator's intake console: category search, knowledge-base search, the area picker.

They reveal no work order, so they need no jurisdiction; every caller is a signed-in staff page.

- ``category_search``: by Chinese text (name or keywords), by pinyin initials ("ljql" → 垃圾清理) or
  by code; leaves first among equals, each with its full path ("城乡建设 / 市容环卫 / 垃圾清理").
- ``knowledge_search``: the knowledge base (知识库) ranked by the character bigrams a question shares
  with the call's text; only active articles.
- ``area_children``: one level of the area tree for the cascading picker.

The category and knowledge rows are small tables (hundreds of rows): they are read once per process
and cached for ``CACHE_SECONDS``; an edit in the admin shows within that time.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from tongxin.regions.models import Area

from .catalogue import pinyin_initials
from .models import Category, KnowledgeArticle

CACHE_SECONDS = 60
MAX_QUERY = 50
_SPACE = re.compile(r"\s+")
_KEYWORD_SPLIT = re.compile(r"[,，、;；\s]+")


@dataclass(frozen=True)
class CategoryHit:
    id: int
    code: str
    name: str
    level: int
    path_names: str
    initials: str
    is_leaf: bool


@dataclass(frozen=True)
class KnowledgeHit:
    id: int
    question: str
    answer: str
    category_name: str
    score: float


_cache: dict[str, tuple[float, Any]] = {}


def invalidate_lookup_cache() -> None:
    _cache.clear()


def _cached(key: str, build: Any) -> Any:
    now = time.monotonic()
    hit = _cache.get(key)
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    value = build()
    _cache[key] = (now, value)
    return value


def _category_rows() -> list[tuple[CategoryHit, str, list[str]]]:
    rows = list(Category.objects.filter(active=True).order_by("path").values(
        "id", "code", "name", "level", "path", "initials", "keywords", "parent_id"))
    names = {r["id"]: r["name"] for r in rows}
    parents = {r["parent_id"] for r in rows if r["parent_id"]}
    out = []
    for r in rows:
        chain = [int(p) for p in r["path"].strip("/").split("/") if p]
        path_names = " / ".join(names.get(pk, "?") for pk in chain) or r["name"]
        hit = CategoryHit(id=r["id"], code=r["code"], name=r["name"], level=r["level"], path_names=path_names,
                          initials=(r["initials"] or "").lower(), is_leaf=r["id"] not in parents)
        keywords = [k for k in _KEYWORD_SPLIT.split(r["keywords"] or "") if k]
        out.append((hit, f"{r['name']} {' '.join(keywords)}".lower(), [pinyin_initials(k) for k in keywords]))
    return out


def category_search(q: str, *, limit: int = 12) -> list[CategoryHit]:
    """Categories matching ``q``: an exact code, a name or keyword containing it, or pinyin initials
    starting with (or containing) it — of the name or of one of its keywords (关键词 垃圾清理 makes "ljql"
    find 环境卫生). Ranked: code, name or initials prefix, keyword initials prefix, contained; leaves and
    deeper levels first among equals."""
    needle = _SPACE.sub("", (q or "").strip().lower())[:MAX_QUERY]
    if not needle:
        return []
    ranked: list[tuple[tuple[int, int, int], CategoryHit]] = []
    for hit, text, keyword_initials in _cached("categories", _category_rows):
        if hit.code.lower() == needle:
            rank = 0
        elif hit.initials.startswith(needle) or hit.name.lower().startswith(needle):
            rank = 1
        elif needle in text or (needle.isascii() and any(k.startswith(needle) for k in keyword_initials)):
            rank = 2
        elif needle.isascii() and needle in hit.initials:
            rank = 3
        else:
            continue
        ranked.append(((rank, 0 if hit.is_leaf else 1, -hit.level), hit))
    ranked.sort(key=lambda pair: (pair[0], pair[1].path_names))
    return [hit for _rank, hit in ranked[:limit]]


def category_by_code(code: str) -> CategoryHit | None:
    for hit, _text, _initials in _cached("categories", _category_rows):
        if hit.code == code:
            return hit
    return None


def _bigrams(text: str) -> set[str]:
    text = _SPACE.sub("", text or "")
    return {text[i:i + 2] for i in range(len(text) - 1)}


def _knowledge_rows() -> list[tuple[KnowledgeHit, set[str], set[str]]]:
    rows = KnowledgeArticle.objects.filter(active=True).select_related("category").order_by("id")
    return [
        (KnowledgeHit(id=a.pk, question=a.question, answer=a.answer,
                      category_name=a.category.name if a.category else "", score=0.0),
         _bigrams(a.question), _bigrams(a.keywords.replace(",", " ").replace("，", " ")))
        for a in rows
    ]


def knowledge_search(q: str, *, limit: int = 5, min_score: float = 0.12) -> list[KnowledgeHit]:
    """Articles sharing enough character bigrams with ``q`` (a question or the call's whole text):
    score = shared question bigrams / question bigrams, plus a bonus per keyword bigram found."""
    grams = _bigrams((q or "")[:2000])
    if not grams:
        return []
    scored = []
    for hit, question, keywords in _cached("knowledge", _knowledge_rows):
        if not question:
            continue
        score = len(question & grams) / len(question) + 0.5 * (len(keywords & grams) / len(keywords) if keywords else 0.0)
        if score >= min_score:
            scored.append(KnowledgeHit(id=hit.id, question=hit.question, answer=hit.answer,
                                       category_name=hit.category_name, score=round(score, 3)))
    scored.sort(key=lambda h: (-h.score, h.id))
    return scored[:limit]


def knowledge_get(article_id: Any) -> KnowledgeArticle | None:
    try:
        pk = int(article_id)
    except (TypeError, ValueError):
        return None
    return KnowledgeArticle.objects.filter(pk=pk, active=True).first()


def area_children(parent_code: str | None) -> list[dict[str, Any]]:
    """The children of the area ``parent_code`` (the top of the tree when empty), without boundaries."""
    qs = Area.objects.defer("boundary")
    if parent_code:
        parent = Area.objects.filter(code=parent_code).only("pk").first()
        if parent is None:
            return []
        qs = qs.filter(parent_id=parent.pk)
    else:
        qs = qs.filter(parent__isnull=True)
    return [{"code": a.code, "name": a.name, "level": a.level, "label": a.get_level_display()} for a in qs.order_by("code")]
