"""The forms of the mediation pages. Choices that depend on the case (where it may be handed, who may
lead it) are filled from the selectors, so a page never offers a target the service would refuse."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from tongxin.accounts.choices import Role
from tongxin.accounts.selectors import users_with_area_role

from . import selectors
from .choices import DisputeType, FailureGuidance, Level, PartySide, Source, Status, Target

TEXTAREA = forms.Textarea(attrs={"rows": 3})
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def set_choices(form: forms.Form, name: str, choices: list[tuple[Any, Any]]) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    field.choices = choices


class VersionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, case: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.case = case


class NoteForm(VersionForm):
    note = forms.CharField(label=_("说明"), widget=TEXTAREA, required=False, max_length=5000)


class RequiredNoteForm(VersionForm):
    note = forms.CharField(label=_("理由"), widget=TEXTAREA, max_length=5000)


class HandoverForm(VersionForm):
    kind = "route"
    to_org_id = forms.TypedChoiceField(label=_("移交给"), coerce=int, choices=())
    reason = forms.CharField(label=_("移交理由"), widget=TEXTAREA, max_length=5000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.case is not None:
            set_choices(self, "to_org_id", [("", _("请选择组织"))] + [
                (o.pk, f"{o.name}（{o.get_level_display()}）") for o in selectors.handover_targets(self.case, self.kind)])


class EscalateForm(HandoverForm):
    kind = "escalate"


class JointForm(VersionForm):
    leader_id = forms.TypedChoiceField(label=_("包案领导"), coerce=int, choices=())
    note = forms.CharField(label=_("说明"), widget=TEXTAREA, required=False, max_length=5000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.case is not None:
            leaders = sorted(users_with_area_role({Role.LEADER}, self.case.area_path), key=lambda u: u.pk)
            set_choices(self, "leader_id", [("", _("请选择领导"))] + [(u.pk, str(u)) for u in leaders])


class SessionForm(VersionForm):
    at = forms.DateTimeField(label=_("时间（留空为现在）"), required=False, widget=DATETIME,
                             input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])
    place = forms.CharField(label=_("地点"), max_length=200)
    attendees = forms.CharField(label=_("参加人员"), required=False, max_length=5000)
    notes = forms.CharField(label=_("记录 / 议定事项"), widget=TEXTAREA, max_length=5000)
    mediator_ids = forms.TypedMultipleChoiceField(label=_("参加的调解员（可多选，含专家库成员）"), coerce=int,
                                                  required=False, choices=())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.case is not None:
            own = list(self.case.owner_org.mediators.filter(active=True))
            experts = [m for m in selectors.mediator_search(speciality=self.case.dispute_type, experts_only=True, limit=20)
                       if m.org_id != self.case.owner_org_id]
            set_choices(self, "mediator_ids", [(m.pk, f"{m.name}（{m.org.name}）") for m in own + experts])


class AgreeForm(VersionForm):
    text = forms.CharField(label=_("调解协议内容"), widget=forms.Textarea(attrs={"rows": 4}), max_length=20000)
    scan = forms.FileField(label=_("签字协议扫描件（PDF / JPEG / PNG）"), required=False)
    follow_up_days = forms.IntegerField(label=_("回访间隔（天）"), min_value=1, max_value=365, initial=15)


class ConfirmForm(VersionForm):
    court = forms.CharField(label=_("确认法院"), max_length=100)
    number = forms.CharField(label=_("确认文书号"), max_length=60)


class FailForm(VersionForm):
    guidance = forms.ChoiceField(label=_("引导途径"), choices=[("", _("请选择")), *FailureGuidance.choices])
    note = forms.CharField(label=_("调解不成说明"), widget=TEXTAREA, max_length=5000)


class FollowUpForm(VersionForm):
    note = forms.CharField(label=_("回访情况"), widget=TEXTAREA, max_length=5000)
    stable = forms.BooleanField(label=_("协议履行稳定"), required=False, initial=True)


class RaiseWorkOrderForm(VersionForm):
    content = forms.CharField(label=_("请职能部门办理的事项"), widget=TEXTAREA, max_length=5000)


class CaseForm(forms.Form):
    org_id = forms.TypedChoiceField(label=_("受理组织（首接首办）"), coerce=int, choices=())
    title = forms.CharField(label=_("案由"), max_length=200)
    dispute_type = forms.ChoiceField(label=_("纠纷类型"), choices=DisputeType.choices)
    source = forms.ChoiceField(label=_("来源"), choices=Source.choices)
    description = forms.CharField(label=_("纠纷简要情况"), widget=forms.Textarea(attrs={"rows": 4}), max_length=5000)
    area_code = forms.CharField(label=_("发生地区域代码（留空为本组织辖区）"), required=False, max_length=32)
    address = forms.CharField(label=_("地址"), required=False, max_length=200)
    amount = forms.DecimalField(label=_("涉及金额（元）"), required=False, min_value=0, max_digits=14, decimal_places=2)
    people_count = forms.IntegerField(label=_("涉及人数"), min_value=1, max_value=100000, initial=2)
    risk_violence = forms.BooleanField(label=_("有暴力倾向"), required=False)
    risk_group = forms.BooleanField(label=_("有群体性事件风险"), required=False)
    risk_petition = forms.BooleanField(label=_("有信访史"), required=False)
    note = forms.CharField(label=_("受理说明"), required=False, widget=TEXTAREA, max_length=5000)

    def __init__(self, *args: Any, orgs: list[Any] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        set_choices(self, "org_id", [(o.pk, o.name) for o in orgs])
        for i in range(3):
            required = i == 0
            self.fields[f"party{i}_name"] = forms.CharField(label=_("当事人姓名或名称"), max_length=100, required=required)
            self.fields[f"party{i}_side"] = forms.ChoiceField(
                label=_("当事方"), choices=PartySide.choices,
                initial=PartySide.APPLICANT if i == 0 else PartySide.RESPONDENT)
            self.fields[f"party{i}_phone"] = forms.CharField(label=_("联系电话"), max_length=20, required=False)
            self.fields[f"party{i}_id_number"] = forms.CharField(label=_("证件号码"), max_length=30, required=False)

    def parties(self) -> list[dict[str, str]]:
        d = self.cleaned_data
        return [{"name": d[f"party{i}_name"], "side": d[f"party{i}_side"], "phone": d[f"party{i}_phone"],
                 "id_number": d[f"party{i}_id_number"]} for i in range(3) if d.get(f"party{i}_name")]

    def party_rows(self) -> list[list[Any]]:
        return [[self[f"party{i}_{k}"] for k in ("name", "side", "phone", "id_number")] for i in range(3)]


class FromWorkOrderForm(forms.Form):
    number = forms.CharField(label=_("工单编号"), max_length=20)
    org_id = forms.TypedChoiceField(label=_("交由调解组织"), coerce=int, choices=())
    dispute_type = forms.ChoiceField(label=_("纠纷类型"), choices=DisputeType.choices)
    note = forms.CharField(label=_("说明"), required=False, max_length=5000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "org_id", [(o.pk, f"{o.name}") for o in selectors.org_list()])


class CaseFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部状态")), *Status.choices])
    level = forms.ChoiceField(label=_("受理层级"), required=False, choices=[("", _("全部层级")), *Level.choices])
    dispute_type = forms.ChoiceField(label=_("纠纷类型"), required=False, choices=[("", _("全部类型")), *DisputeType.choices])
    target = forms.ChoiceField(label=_("目标口径"), required=False, choices=[("", _("不按目标")), *Target.choices])
    met = forms.ChoiceField(label=_("是否达成"), required=False,
                            choices=[("", _("全部（分母）")), ("yes", _("达成（分子）")), ("no", _("未达成"))])
    overdue = forms.BooleanField(label=_("仅回访超期"), required=False)
    area_code = forms.CharField(label=_("区域代码"), required=False, max_length=32)
    date_from = forms.DateField(label=_("起始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    # No search term here: the search box posts it (views.case_list), so it never enters a URL.


class NumbersFilterForm(forms.Form):
    area_code = forms.CharField(label=_("区域代码（留空为全部辖区）"), required=False, max_length=32)
    date_from = forms.DateField(label=_("起始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
