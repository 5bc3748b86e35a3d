"""Hot words (热词) per area and period, for the dashboard.

Words come from jieba (accurate mode, no HMM guesses for unknown words: steadier counts), lower-cased,
without punctuation, numbers, single characters and the stop words below (function words and the
hotline's own boilerplate: "反映", "问题", "希望"… appear in every request and say nothing). A word's count
is the number of requests it appears in. A word is hot when it is frequent in the period *and* more
frequent than in the baseline (the preceding periods):

    score = n × ln(1 + lift),   lift = (n / N) / ((b + 1) / (B + 1))

with n of N requests in the period and b of B in the baseline. Without a baseline the score is n.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils.translation import gettext as _

from .textfeatures import normalise

_STOPWORD_TEXT = """
的 了 是 在 我 我们 你们 他们 她们 有 和 就 不 人 都 一 一个 也 很 到 说 要 去 会 着 没有 看 好 自己 这 那 这个 那个 这些 那些
什么 怎么 怎么办 如何 为什么 能否 能不能 是否 可以 可能 已经 一直 还是 还有 但是 而且 因为 所以 如果 虽然 然后 现在 目前 今天
昨天 明天 今年 去年 每天 时候 多次 几次 一下 一些 这样 那样 非常 比较 严重 情况 问题 反映 反应 希望 请求 要求 恳请 尽快 及时 相关
部门 有关 领导 处理 解决 进行 没人 无人 帮忙 帮助 咨询 投诉 举报 建议 表扬 您好 你好 谢谢 感谢 尊敬 市民 居民 群众 我家 家里
本人 来电 来电人 诉求 诉求人 工单 政府 单位 工作人员 地方 附近 周边 关于 对于 以及 或者 其他 其中 通过 需要 应该 不能 不会 不是
没有人 至今 仍然 依然 一样 左右 以上 以下 之前 之后 以后 以前 天 月 年 号 个 次 等 后 前 中 上 下 里 又 再 还 才 只 让 被 把
给 对 从 向 与 及 或 而 但 并 且 则 该 其 此 各 每 哪 哪里 这里 那里 怎样 多少 几 啥 嘛 吧 呢 啊 吗 呀 哦
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

_KEEP = re.compile(r"^[\u4e00-\u9fffA-Za-z][\u4e00-\u9fffA-Za-z0-9]*$")
_MASK = re.compile(r"^[a-z]{1,2}\d*$")  # "a4", "k9": masked place codes and stray letters
_lock = threading.Lock()
_ready = False


def _jieba() -> Any:
    global _ready
    import jieba

    with _lock:
        if not _ready:
            jieba.setLogLevel(60)
            jieba.initialize()
            _ready = True
    return jieba


def words(text: str) -> list[str]:
    """The content words of one text, in order (repeats kept)."""
    jieba = _jieba()
    out = []
    for token in jieba.lcut(normalise(text), HMM=False):
        token = token.strip()
        if len(token) >= 2 and token not in STOPWORDS and _KEEP.match(token) and not _MASK.match(token):
            out.append(token)
    return out


def document_counts(texts: Iterable[str]) -> tuple[Counter, int]:
    counts: Counter = Counter()
    n = 0
    for text in texts:
        counts.update(set(words(text)))
        n += 1
    return counts, n


@dataclass
class HotWord:
    word: str
    count: int  # requests of the period containing it
    baseline_count: int
    lift: float | None
    score: float


def hot_words(period: Sequence[str] | tuple[Counter, int], baseline: Sequence[str] | tuple[Counter, int] | None = None,
              *, top: int = 20, min_count: int = 2) -> list[HotWord]:
    """The ``top`` hot words of ``period`` against ``baseline`` (texts, or precomputed document counts)."""
    p_counts, p_n = period if isinstance(period, tuple) else document_counts(period)
    b_counts, b_n = baseline if isinstance(baseline, tuple) else document_counts(baseline or [])
    out: list[HotWord] = []
    for word, n in p_counts.items():
        if n < min_count:
            continue
        b = b_counts.get(word, 0)
        if b_n:
            lift = (n / p_n) / ((b + 1) / (b_n + 1))
            score = n * math.log1p(lift)
        else:
            lift, score = None, float(n)
        out.append(HotWord(word=word, count=n, baseline_count=b, lift=None if lift is None else round(lift, 3),
                           score=round(score, 3)))
    out.sort(key=lambda w: (-w.score, -w.count, w.word))
    return out[:top]


MAX_TEXTS = 20_000


def hot_word_list(*, actor: Any, area_code: str | None = None, days: int = 7, top: int = 20,
                  baseline_periods: int = 4, now: datetime | None = None) -> dict[str, Any]:
    """Hot words of the requests the actor may see, in an area (default: all the actor sees), over the
    last ``days`` days, against the ``baseline_periods`` periods before."""
    from django.utils import timezone

    from tongxin.core.errors import ValidationFailed
    from tongxin.regions.selectors import area_get_by_code
    from tongxin.workorders.choices import Status
    from tongxin.workorders.selectors import work_orders_visible_to

    now = now or timezone.now()
    qs = work_orders_visible_to(actor).exclude(status__in=[Status.INVALID, Status.TRANSFERRED])
    area = None
    if area_code:
        area = area_get_by_code(area_code)
        if area is None:
            raise ValidationFailed(fields={"area_code": _("区域代码 %(area_code)s 不存在") % {"area_code": area_code}})
        qs = qs.filter(area_path__startswith=area.path)
    start = now - timedelta(days=days)
    base_start = start - timedelta(days=days * baseline_periods)

    def texts(a: datetime, b: datetime) -> list[str]:
        rows = qs.filter(accepted_at__gte=a, accepted_at__lt=b).order_by("-accepted_at").values_list("title", "content")
        return [f"{t} {c}" for t, c in rows[:MAX_TEXTS]]

    period = texts(start, now)
    baseline = texts(base_start, start)
    found = hot_words(period, baseline, top=top)
    return {
        "area": {"code": area.code, "name": area.name} if area else None,
        "start": start, "end": now, "requests": len(period), "baseline_requests": len(baseline),
        "words": [w.__dict__ for w in found],
    }
