"""The tally as an .xlsx workbook (openpyxl). A secret ballot's workbook holds counts only; a public
ballot's adds who chose what, by household door and masked name (never a phone or an ID number)."""

from __future__ import annotations

import io

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from tongxin.core.masking import mask_name

from .models import Elector, Topic
from .selectors import Results, public_choices


def _safe(value: object) -> object:
    """A cell never starts a formula (a label typed as "=HYPERLINK(...)" stays text)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def tally_workbook(topic: Topic, results: Results) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = _("计票结果")
    bold = Font(bold=True)
    rows: list[list[object]] = [
        [_("议题"), topic.title],
        [_("类型"), topic.get_kind_display()],
        [_("表决事项"), topic.get_matter_display() if topic.matter else "—"],
        [_("范围"), str(topic.building or topic.area.name)],
        [_("投票期"), f"{timezone.localtime(topic.opens_at):%Y-%m-%d %H:%M} — {timezone.localtime(topic.closes_at):%Y-%m-%d %H:%M}"],
        [_("投票方式"), _("无记名") if topic.secret else _("记名")],
        [_("投票资格"), topic.get_eligibility_display()],
        [_("有投票资格"), results.electors],
        [_("已投票"), results.voted],
        [_("参与率"), results.turnout],
    ]
    if topic.is_property:
        rows += [[_("专有部分总面积（㎡）"), float(results.electors_area)],
                 [_("参与表决面积（㎡）"), float(results.voted_area)]]
    rows += [[_("统计时间"), f"{timezone.localtime(results.at):%Y-%m-%d %H:%M:%S}"], []]
    for row in rows:
        ws.append([_safe(v) for v in row])
    header = [_("选项"), _("票数"), _("占已投票")]
    if topic.is_property:
        header += [_("面积（㎡）"), _("占参与表决面积")]
    ws.append(header)
    for cell in ws[ws.max_row]:
        cell.font = bold
    for option in results.options:
        line: list[object] = [option.label, option.ballots, option.share]
        if topic.is_property:
            line += [float(option.area), option.area_share]
        ws.append([_safe(v) for v in line])
    if results.verdict is not None:
        ws.append([])
        ws.append([_("民法典第二百七十八条"), results.verdict.summary])
        for reason in results.verdict.reasons:
            ws.append(["", reason])
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 60
    if not topic.secret:
        detail = wb.create_sheet(_("记名投票明细"))
        detail.append([_("序号"), _("住户"), _("投票人"), _("选择")])
        electors = {e.pk: e for e in Elector.objects.filter(topic=topic)}
        from tongxin.residents import selectors as residents

        households = {h.pk: h for h in residents.households_in_scope().filter(
            pk__in={e.household_id for e in electors.values()})}
        names = {}
        for elector_id, _label in public_choices(topic=topic):
            elector = electors[elector_id]
            if elector.resident_id and elector.resident_id not in names:
                resident = residents.resident_get(elector.resident_id)
                names[elector.resident_id] = mask_name(resident.name) if resident else ""
        for n, (elector_id, label) in enumerate(public_choices(topic=topic), start=1):
            elector = electors[elector_id]
            household = households.get(elector.household_id)
            door = " ".join(x for x in (household.building, household.unit, household.room) if x) if household else ""
            detail.append([n, _safe(door), names.get(elector.resident_id or 0, ""), _safe(label)])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
