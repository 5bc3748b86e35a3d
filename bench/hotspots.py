"""Hot topics on the contest's hot-topic data: ``python bench/hotspots.py [--threshold 0.25] [--top 10]``.

Reads ../shared/data/citizen-messages/messages_with_votes.csv (4,326 real, unlabelled messages with
likes and dislikes), clusters them by text alone (tongxin/insight/hotspots.py ``text_topics``: character
2–4-gram TF-IDF of subject + first 200 body characters, linked at cosine ≥ threshold within 120 days) and
prints the hottest topics: messages, support (likes), dislikes, time span, hot words (jieba), the
representative subject and a few member subjects. There is no gold standard in the data: read the list.

Exit status: 0 when it ran, 2 when the data is absent.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.settings")

from tongxin.insight.hotspots import Message, text_topics  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "citizen-messages" / "messages_with_votes.csv"


def when(text: str) -> datetime | None:
    for fmt in ("%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M"):
        try:
            return datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--threshold", type=float, default=0.25)
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    if not Path(args.data).exists():
        print(f"no data at {args.data}: nothing to measure")
        return 2
    with open(args.data, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    messages = [Message(id=r["留言编号"], subject=r["留言主题"], body=r["留言详情"], at=when(r["留言时间"]),
                        likes=int(float(r["点赞数"] or 0)), dislikes=int(float(r["反对数"] or 0))) for r in rows]
    started = time.perf_counter()
    topics = text_topics(messages, threshold=args.threshold)
    seconds = time.perf_counter() - started
    clustered = sum(t.count for t in topics)
    print(f"{len(messages)} messages → {len(topics)} topics of ≥ 2 messages ({clustered} messages in them), "
          f"threshold {args.threshold}, {seconds:.1f} s")
    print("heat = messages + ½·log2(1 + likes)\n")
    for rank, t in enumerate(topics[: args.top], start=1):
        dates = sorted(m.at for m in t.messages if m.at)
        span = f"{dates[0]:%Y-%m-%d} – {dates[-1]:%Y-%m-%d}" if dates else "?"
        print(f"{rank:2d}. heat {t.heat:5.1f}  messages {t.count:3d}  support (likes) {t.likes:4d}  dislikes {t.dislikes:3d}  {span}")
        print(f"    {t.representative.subject}")
        print(f"    hot words: {'、'.join(t.words)}")
        others = [m.subject for m in t.messages if m is not t.representative][:3]
        for subject in others:
            print(f"      · {subject}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
