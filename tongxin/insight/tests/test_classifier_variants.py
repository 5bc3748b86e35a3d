"""bench/classify_variants.py keeps the held-out messages out of every fold's unlabelled pool.

Synthetic files laid out like ../shared/data/citizen-messages (no contest text is used): the pool must
lose a message whose subject equals a held-out subject, one whose body nearly copies a held-out body,
and one already among the labelled training texts, and keep the rest.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[3] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from classify_variants import clean_pool, unlabelled_messages  # noqa: E402

from tongxin.insight.training import load_contest, split_for  # noqa: E402

BODY = "我们小区门口的路灯已经坏了三个月，晚上出行非常不方便，老人孩子多次摔倒，希望有关部门尽快派人维修更换"


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def test_pool_loses_held_out_texts_near_copies_and_training_texts(tmp_path):
    _write(tmp_path / "subjects.csv", ["subject", "label"],
           [["公交站台被拆除", "交通运输"], ["学校食堂卫生差", "教育文体"]])
    _write(tmp_path / "details.csv", ["detail", "label"],
           [["附近公交站台上周被拆除了，上班的人要多走两公里", "交通运输"], ["孩子学校的食堂饭菜经常不新鲜", "教育文体"]])
    _write(tmp_path / "messages_full.csv", ["id", "user", "subject", "time", "detail", "label"],
           [["1", "U1", "小区路灯坏了没人修", "2019/1/1", BODY, "城乡建设"],
            ["2", "U2", "医保报销太慢", "2019/1/2", "去年住院的费用至今没有报销下来，跑了好几趟社保局", "劳动和社会保障"]])
    votes = [
        ["11", "U3", "小区路灯坏了没人修", "2019/2/1", "另一段完全不同的正文内容关于别的事情", "0", "1"],  # held-out subject
        ["12", "U4", "路灯问题", "2019/2/2", BODY.replace("三个月", "四个月"), "0", "0"],  # near-copy of a held-out body
        ["13", "U5", "公交站台被拆除", "2019/2/3", "站台没了以后等车只能站在马路边上很危险", "0", "0"],  # a training subject
        ["14", "U6", "菜市场噪音扰民", "2019/2/4", "凌晨四点菜市场就开始卸货，噪音很大，附近居民无法休息", "2", "3"],
        ["14", "U6", "菜市场噪音扰民", "2019/2/4", "凌晨四点菜市场就开始卸货，噪音很大，附近居民无法休息", "2", "3"],  # repeated
    ]
    _write(tmp_path / "messages_with_votes.csv", ["留言编号", "留言用户", "留言主题", "留言时间", "留言详情", "反对数", "点赞数"], votes)
    data = load_contest(tmp_path)
    held_out = [n for n, m in enumerate(data.messages) if data.subjects[m[0]].text == "小区路灯坏了没人修"]
    assert len(held_out) == 1
    split = split_for(data, held_out)
    pool = unlabelled_messages(tmp_path)
    assert len(pool) == 4  # the repeated row counts once
    kept = clean_pool(pool, data, split, held_out)
    assert [s for s, _b in kept] == ["菜市场噪音扰民"]
