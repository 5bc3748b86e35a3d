"""The built-in rules and tiers (the admin changes their amounts; callers rely on the codes existing),
and on PostgreSQL a trigger that refuses UPDATE and DELETE on the ledger's entries."""

from django.db import migrations

RULES = [
    # code, name, kind, amount, approval_threshold, description
    ("vote_cast", "参与投票", "virtue", 2, None, "参与一次码上协商投票"),
    ("report_confirmed", "有效诉求", "material", 5, None, "居民反映的诉求经确认办结"),
    ("volunteer_hours", "志愿服务时长", "virtue", 10, 200, "每小时志愿服务，经组织者确认"),
    ("commendation", "表彰奖励", "virtue", 50, 100, "见义勇为、好人好事等，由工作人员提出"),
    ("uncivil_act", "不文明行为扣分", "virtue", -20, None, "经核实的不文明行为，居民可申诉"),
]
TIERS = [
    ("文明居民", 50, "服务大厅优先叫号"),
    ("道德模范", 200, "服务大厅优先叫号\n社区活动优先报名"),
    ("同心之星", 500, "服务大厅优先叫号\n社区活动优先报名\n年度表彰推荐"),
]

TRIGGER = """
CREATE OR REPLACE FUNCTION points_entry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'points_entry is append-only: write a reversal entry instead';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER points_entry_append_only BEFORE UPDATE OR DELETE ON points_entry
    FOR EACH ROW EXECUTE FUNCTION points_entry_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS points_entry_append_only ON points_entry;
DROP FUNCTION IF EXISTS points_entry_append_only();
"""


def seed(apps, schema_editor):
    Rule = apps.get_model("points", "Rule")
    Tier = apps.get_model("points", "Tier")
    for code, name, kind, amount, threshold, description in RULES:
        Rule.objects.get_or_create(code=code, defaults={"name": name, "kind": kind, "amount": amount,
                                                        "approval_threshold": threshold, "description": description})
    for name, min_points, privileges in TIERS:
        Tier.objects.get_or_create(min_points=min_points, defaults={"name": name, "privileges": privileges})


def trigger_on(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER)


def trigger_off(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("points", "0001_initial")]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
        migrations.RunPython(trigger_on, trigger_off),
    ]
