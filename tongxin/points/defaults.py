"""The built-in rules and tiers. The admin changes amounts, thresholds and activity; callers rely on the
codes existing, so a built-in rule missing from the database (a fresh or flushed database) is created
from here on first use. Migration 0002 seeds the same values."""

from __future__ import annotations

# code, name, kind, amount (per unit), approval threshold, description
RULES = [
    ("vote_cast", "参与投票", "virtue", 2, None, "参与一次码上协商投票"),
    ("report_confirmed", "有效诉求", "material", 5, None, "居民反映的诉求经确认办结"),
    ("volunteer_hours", "志愿服务时长", "virtue", 10, 200, "每小时志愿服务，经组织者确认"),
    ("commendation", "表彰奖励", "virtue", 50, 100, "见义勇为、好人好事等，由工作人员提出"),
    ("uncivil_act", "不文明行为扣分", "virtue", -20, None, "经核实的不文明行为，居民可申诉"),
]
RULES_BY_CODE = {row[0]: row for row in RULES}

# name, virtue points needed, privileges (one per line)
TIERS = [
    ("文明居民", 50, "服务大厅优先叫号"),
    ("道德模范", 200, "服务大厅优先叫号\n社区活动优先报名"),
    ("同心之星", 500, "服务大厅优先叫号\n社区活动优先报名\n年度表彰推荐"),
]
