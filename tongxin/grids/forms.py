"""The forms of the field pages: each parses what a phone posts and hands it to one service."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from tongxin.workorders.choices import Kind

from .services import GRID_KINDS, MAX_OPINION_CHARS, MAX_REPORT_CHARS


class LocationFields(forms.Form):
    """The location the page's script fills in from the browser (geolocation answers in WGS-84)."""

    lat = forms.CharField(required=False, widget=forms.HiddenInput)
    lng = forms.CharField(required=False, widget=forms.HiddenInput)
    accuracy = forms.CharField(required=False, widget=forms.HiddenInput)
    datum = forms.CharField(required=False, initial="wgs84", widget=forms.HiddenInput)


class PatrolStartForm(LocationFields):
    grid_id = forms.ChoiceField(label=_("网格"), choices=(), required=False)


class CheckinForm(LocationFields):
    note = forms.CharField(label=_("备注"), required=False, max_length=200)


class PatrolEndForm(forms.Form):
    note = forms.CharField(label=_("巡查记录"), required=False, max_length=500,
                           widget=forms.Textarea(attrs={"rows": 2}))


class ReportForm(LocationFields):
    grid_id = forms.ChoiceField(label=_("网格"), choices=(), required=False)
    text = forms.CharField(label=_("发现了什么"), required=False, max_length=MAX_REPORT_CHARS,
                           widget=forms.Textarea(attrs={"rows": 4, "placeholder": _("例如：3号楼前井盖松动")}))
    photo = forms.FileField(label=_("现场照片"), required=False,
                            widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "environment"}))
    category_code = forms.CharField(required=False, widget=forms.HiddenInput)
    category_suggested = forms.CharField(required=False, widget=forms.HiddenInput)


class SettleForm(forms.Form):
    result_text = forms.CharField(label=_("处置结果"), required=False, max_length=MAX_REPORT_CHARS,
                                  widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("例如：已协调物业加固井盖")}))
    result_photo = forms.FileField(label=_("处置后照片"), required=False,
                                   widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "environment"}))


class RaiseForm(forms.Form):
    kind = forms.ChoiceField(label=_("诉求类型"), choices=[(k.value, k.label) for k in GRID_KINDS], initial=Kind.HELP)
    category_code = forms.CharField(label=_("分类代码"), required=False, max_length=40)


class OpinionForm(forms.Form):
    # Not required here: the service names every missing field at once, in its own words.
    grid_id = forms.ChoiceField(label=_("网格"), choices=(), required=False)
    topic_code = forms.ChoiceField(label=_("主题"), choices=(), required=False)
    text = forms.CharField(label=_("居民意见"), required=False, max_length=MAX_OPINION_CHARS, widget=forms.Textarea(attrs={"rows": 4}))
    address = forms.CharField(label=_("住户地址（选填）"), required=False, max_length=200)


class OpinionFilterForm(forms.Form):
    q = forms.CharField(label=_("关键词"), required=False, max_length=100)
    topic = forms.ChoiceField(label=_("主题"), required=False, choices=())
    area = forms.ChoiceField(label=_("区域"), required=False, choices=())
    date_from = forms.DateField(label=_("起始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
