"""A labelled set for the duplicate finder, and its measurement (bench/duplicates.py, the tests).

No public data says which requests are duplicates of which, so the set is constructed — synthetic, and
said so in docs/insight.md. It is built from the demo's request templates (tongxin/demo/content.py,
written for the demo) to look like a week of a city district's hotline:

- ``incidents`` problems happen at random points of a 6 × 6 km urban area over 30 days, each a topic of
  the demo catalogue (weighted as the demo weighs them), a template of that topic, a place (compound,
  building, roads);
- each incident is reported once, and with probability 0.45 again by 1–3 more people (a duplicate):
  within 0–72 hours, 10–150 m from the first point, by the same caller with probability 0.3, in the
  words of another caller: the same template re-rendered (the numbers change: "3 天" becomes "7 天"),
  then paraphrased — a clause dropped, common words swapped for synonyms ("坏了" → "损坏了", "好几天"
  → "多日"), a preamble or a tail added ("再次反映：", "麻烦尽快处理");
- 15 % of incidents are "neighbours": another problem (another template, of any topic, often the same
  one) at the place of an earlier incident, 1–5 days later — the hard negatives of "same place, same
  kind of complaint, different problem"; the same template at other places gives the hard negatives
  of "same words, different place".

Truth: two reports are duplicates when they report the same incident. For every report, the pool is the
reports accepted before it within the window (all open); a predicted pair is a candidate returned by
``rank_duplicates``. Precision = true predicted pairs / predicted pairs; recall = true pairs found / true
pairs (a later report and each earlier report of its incident); top-1 = share of reports with an earlier
duplicate whose best candidate is one.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from .duplicates import DuplicateParams, Request, rank_duplicates

ORIGIN = (39.80, 109.95)  # lat, lng: 东胜区 / 康巴什区, an urban area of Ordos
PREAMBLES = ("你好，", "再次反映：", "我也要反映，", "", "", "")
TAILS = ("麻烦尽快处理。", "希望有关部门重视。", "谢谢。", "", "", "")
SYNONYMS = (("坏了", "损坏了"), ("好几天", "多日"), ("没人", "无人"), ("很大", "特别大"), ("请尽快", "希望尽快"),
            ("已经", "都已经"), ("物业", "物业公司"), ("严重", "非常严重"), ("一直", "始终"), ("不安全", "有安全隐患"),
            ("影响", "干扰"), ("晚上", "夜里"), ("孩子", "小孩"), ("老人", "老年人"), ("解决", "处理"))


def paraphrase(text: str, rng: random.Random) -> str:
    """Another caller's words for the same problem: maybe drop a clause, swap some words, add a
    preamble or a tail."""
    clauses = [c for c in text.replace("。", "，").split("，") if c]
    if len(clauses) > 2 and rng.random() < 0.4:
        del clauses[rng.randrange(1, len(clauses))]
    out = "，".join(clauses) + "。"
    for a, b in SYNONYMS:
        if a in out and rng.random() < 0.5:
            out = out.replace(a, b)
    return rng.choice(PREAMBLES) + out + rng.choice(TAILS)


@dataclass
class Labelled:
    requests: list[Request]
    incident_of: dict[int, int]  # request id → incident id


def _offset(lat: float, lng: float, metres: float, rng: random.Random) -> tuple[float, float]:
    angle = rng.uniform(0, 2 * math.pi)
    dlat = metres * math.cos(angle) / 111_320
    dlng = metres * math.sin(angle) / (111_320 * math.cos(math.radians(lat)))
    return lat + dlat, lng + dlng


def labelled_set(incidents: int = 400, seed: int = 8, days: int = 30) -> Labelled:
    from tongxin.demo import content

    rng = random.Random(seed)
    topics = [t for t in content.TOPICS if t.templates]
    weights = [t.weight for t in topics]
    start = datetime(2026, 3, 2, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    requests: list[Request] = []
    incident_of: dict[int, int] = {}
    places: list[tuple] = []
    phones = iter(range(10**9))
    for incident in range(incidents):
        neighbour = bool(places) and rng.random() < 0.15
        if neighbour:  # another problem where an earlier one was
            where, (lat, lng), earlier, slots, earlier_topic, earlier_template = rng.choice(places)
            lat, lng = _offset(lat, lng, rng.uniform(0, 60), rng)
            at = earlier + timedelta(hours=rng.uniform(24, 120))
            topic = earlier_topic if rng.random() < 0.6 else rng.choices(topics, weights)[0]
            others = [t for _k, t in topic.templates if t != earlier_template] or [t for _k, t in topic.templates]
            template = rng.choice(others)
        else:
            where = content.make_where(rng, stem="东胜区", community="", urban=True)
            lat, lng = _offset(*ORIGIN, rng.uniform(0, 3000), rng)
            at = start + timedelta(minutes=rng.uniform(0, days * 24 * 60))
            slots = dict(zip(("road", "road2"), rng.sample(content.ROADS, 2), strict=True))
            topic = rng.choices(topics, weights)[0]
            template = rng.choice(topic.templates)[1]
        places.append((where, (lat, lng), at, slots, topic, template))
        phone = f"12{next(phones):09d}"
        first = Request(id=len(requests) + 1, text=content.render(template, rng, where, **slots), at=at, phone=phone,
                        lat=lat, lng=lng, category_id=hash(topic.path) % 10**6)
        requests.append(first)
        incident_of[first.id] = incident
        if rng.random() < 0.45:
            for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
                text = paraphrase(content.render(template, rng, where, **slots), rng)
                dlat, dlng = _offset(lat, lng, rng.uniform(10, 150), rng)
                duplicate = Request(id=len(requests) + 1, text=text, at=at + timedelta(hours=rng.uniform(0, 72)),
                                    phone=phone if rng.random() < 0.3 else f"12{next(phones):09d}", lat=dlat, lng=dlng,
                                    category_id=first.category_id)
                requests.append(duplicate)
                incident_of[duplicate.id] = incident
    requests.sort(key=lambda r: r.at)
    return Labelled(requests=requests, incident_of=incident_of)


def measure(data: Labelled, params: DuplicateParams | None = None, *, incidents: set[int] | None = None) -> dict[str, float]:
    """Precision, recall and top-1 over the reports whose incident is in ``incidents`` (all if None)."""
    params = params or DuplicateParams()
    predicted = true_predicted = true_pairs = with_earlier = top1 = 0
    for n, request in enumerate(data.requests):
        incident = data.incident_of[request.id]
        if incidents is not None and incident not in incidents:
            continue
        pool = [r for r in data.requests[:n] if request.at - r.at <= params.window]
        truth = {r.id for r in pool if data.incident_of[r.id] == incident}
        found = rank_duplicates(request, pool, params)
        predicted += len(found)
        true_predicted += sum(c.request.id in truth for c in found)
        true_pairs += len(truth)
        if truth:
            with_earlier += 1
            top1 += bool(found) and found[0].request.id in truth
    precision = true_predicted / predicted if predicted else 1.0
    recall = true_predicted / true_pairs if true_pairs else 1.0
    return {
        "reports": sum(1 for r in data.requests if incidents is None or data.incident_of[r.id] in incidents),
        "true_pairs": true_pairs, "predicted_pairs": predicted,
        "precision": round(precision, 4), "recall": round(recall, 4),
        "f1": round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0,
        "top1": round(top1 / with_earlier, 4) if with_earlier else 1.0,
    }
