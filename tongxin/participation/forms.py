"""The staff's topic form (fields only: every rule is the service's) and the resident's ballot form."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongxin.regions.choices import AreaLevel

from . import selectors
from .choices import ChoiceMode, Eligibility, Matter, Publication, ScopeKind, TopicKind
from .services import TopicInput

LOCAL = "%Y-%m-%dT%H:%M"


class TopicForm(forms.Form):
    title = forms.CharField(label=_("标题"), max_length=200)
    body = forms.CharField(label=_("内容（背景、方案、费用等）"), widget=forms.Textarea(attrs={"rows": 5}), max_length=6000)
    kind = forms.ChoiceField(label=_("议题类型"), choices=TopicKind.choices)
    matter = forms.ChoiceField(label=_("表决事项（仅物业管理事项）"), required=False,
                               choices=[("", "—"), *Matter.choices])
    scope_kind = forms.ChoiceField(label=_("范围类型"), choices=ScopeKind.choices)
    area_id = forms.ChoiceField(label=_("区域或网格"), required=False)
    building_id = forms.ChoiceField(label=_("楼栋"), required=False)
    eligibility = forms.ChoiceField(label=_("投票资格"), choices=Eligibility.choices)
    choice_mode = forms.ChoiceField(label=_("选择方式"), choices=ChoiceMode.choices)
    max_choices = forms.IntegerField(label=_("多选时最多可选几项"), min_value=1, max_value=20, initial=2, required=False)
    options = forms.CharField(label=_("选项（每行一个；物业管理事项固定为同意、不同意、弃权）"), required=False,
                              widget=forms.Textarea(attrs={"rows": 4}))
    opens_at = forms.DateTimeField(label=_("开始时间"), input_formats=[LOCAL],
                                   widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL))
    closes_at = forms.DateTimeField(label=_("截止时间"), input_formats=[LOCAL],
                                    widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL))
    secret = forms.BooleanField(label=_("无记名投票（不保存谁投了哪一项）"), required=False)
    publication = forms.ChoiceField(label=_("结果公布"), choices=Publication.choices)
    allow_change = forms.BooleanField(label=_("截止前允许改票（仅记名投票）"), required=False)

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        areas = (selectors.areas_writable_by(actor)
                 .filter(level__in=[AreaLevel.DISTRICT, AreaLevel.TOWN, AreaLevel.COMMUNITY, AreaLevel.GRID])
                 .order_by("path")[:500])
        area_field: Any = self.fields["area_id"]
        area_field.choices = [("", "—")] + [(str(a.pk), "　" * a.depth + a.name) for a in areas]
        building_field: Any = self.fields["building_id"]
        building_field.choices = [("", "—")] + [
            (str(b.pk), f"{b.area.name} {b.name}") for b in selectors.buildings_writable_by(actor)]
        if not self.is_bound and not self.initial:
            now = timezone.localtime().replace(second=0, microsecond=0)
            self.initial.update({"opens_at": now, "closes_at": now + timedelta(days=7)})

    def topic_input(self) -> TopicInput:
        d = self.cleaned_data
        return TopicInput(
            title=d["title"], body=d["body"], kind=d["kind"], matter=d["matter"], scope_kind=d["scope_kind"],
            area_id=d["area_id"] or None, building_id=d["building_id"] or None, choice_mode=d["choice_mode"],
            max_choices=d["max_choices"] or 1, opens_at=d["opens_at"], closes_at=d["closes_at"],
            eligibility=d["eligibility"], secret=d["secret"], publication=d["publication"],
            allow_change=d["allow_change"], options=d["options"],
        )

    @staticmethod
    def initial_from(topic: Any) -> dict[str, Any]:
        return {
            "title": topic.title, "body": topic.body, "kind": topic.kind, "matter": topic.matter,
            "scope_kind": topic.scope_kind, "area_id": "" if topic.building_id else str(topic.area_id),
            "building_id": str(topic.building_id or ""), "eligibility": topic.eligibility,
            "choice_mode": topic.choice_mode, "max_choices": topic.max_choices,
            "options": "\n".join(o.label for o in topic.options.all()) if not topic.is_property else "",
            "opens_at": timezone.localtime(topic.opens_at), "closes_at": timezone.localtime(topic.closes_at),
            "secret": topic.secret, "publication": topic.publication, "allow_change": topic.allow_change,
        }
