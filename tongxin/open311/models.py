"""Open311 GeoReport v2: API keys, per-category service settings and attributes, and the Open311 side
of the work orders and comments posted through the endpoint (docs/open311.md).

The work orders themselves live in ``workorders``; this app only links to them. Everything personal a
client sends (email, names, phone, device and account ids) is kept here, never in a GET answer.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongxin.workorders.choices import Kind

CODE_VALIDATOR = RegexValidator(r"^[A-Za-z0-9_.\-]+$", _("只能包含字母、数字、下划线、点和连字符"))


class ApiKey(models.Model):
    """A client of the endpoint (a civic app, FixMyStreet, another city system).

    Rules: only the SHA-256 digest of the key is stored: the key is shown once, at creation (admin or
    ``tongxin open311 key create``). Requests posted with the key are recorded as its ``owner``, the
    channel owner: a user with an intake role (operator, dispatcher, supervisor) or an administrator,
    whose area scope must cover the locations posted. ``rate_limit`` counts requests per minute per
    key. An inactive key, or a key whose owner is deactivated, answers 403.
    """

    name = models.CharField(_("名称"), max_length=100, unique=True, help_text=_("调用方系统的名称，例如“某某随手拍”"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("渠道负责人"), on_delete=models.PROTECT, related_name="+",
        help_text=_("以该用户的身份受理诉求：必须是话务员、派单员、督办员或管理员"),
    )
    prefix = models.CharField(_("前缀"), max_length=16, db_index=True, editable=False)
    digest = models.CharField(_("摘要"), max_length=64, unique=True, editable=False)
    rate_limit = models.PositiveIntegerField(_("每分钟请求上限"), default=60)
    active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("Open311 接口密钥")
        verbose_name_plural = _("Open311 接口密钥")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Publish(models.TextChoices):
    """Which orders of a service the public GET endpoints show."""

    OPEN311 = "open311", _("仅公开经 Open311 提交的诉求")
    ALL = "all", _("公开所有渠道的诉求（举报类除外）")
    NONE = "none", _("不公开")


class Service(models.Model):
    """The Open311 settings of one category (服务设置).

    Rules: optional. Every active category is an Open311 service; a category without a row gets the
    defaults (kind ``help``, publish ``open311``, no attributes, no description). ``kind`` is the request
    kind given to the orders posted for the service; ``publish`` decides which of the category's orders
    the public GET endpoints show (never orders of kind ``report``/举报 from other channels).
    """

    category = models.OneToOneField(
        "workorders.Category", verbose_name=_("诉求分类"), on_delete=models.CASCADE, related_name="open311_service"
    )
    description = models.CharField(_("服务说明"), max_length=300, blank=True)
    kind = models.CharField(_("诉求类型"), max_length=12, choices=Kind.choices, default=Kind.HELP)
    publish = models.CharField(_("公开范围"), max_length=10, choices=Publish.choices, default=Publish.OPEN311)
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)

    class Meta:
        verbose_name = _("Open311 服务设置")
        verbose_name_plural = _("Open311 服务设置")

    def __str__(self) -> str:
        return str(self.category)


class Datatype(models.TextChoices):
    STRING = "string", _("单行文字")
    NUMBER = "number", _("数字")
    DATETIME = "datetime", _("日期时间")
    TEXT = "text", _("多行文字")
    SINGLEVALUELIST = "singlevaluelist", _("单选")
    MULTIVALUELIST = "multivaluelist", _("多选")


LIST_DATATYPES = frozenset({Datatype.SINGLEVALUELIST, Datatype.MULTIVALUELIST})


class Attribute(models.Model):
    """One question of a service definition (GeoReport v2 ``attribute``).

    Rules: ``code`` is unique within its service; ``values`` (a list of ``{"key", "name"}``) is used by
    the two list datatypes only, and they need at least one; ``variable=False`` marks an attribute that
    only informs the citizen: it takes no input and is never required; ``order`` sorts the questions.
    """

    service = models.ForeignKey(Service, verbose_name=_("服务"), on_delete=models.CASCADE, related_name="attributes")
    code = models.CharField(_("代码"), max_length=50, validators=[CODE_VALIDATOR])
    datatype = models.CharField(_("数据类型"), max_length=16, choices=Datatype.choices, default=Datatype.STRING)
    required = models.BooleanField(_("必填"), default=False)
    variable = models.BooleanField(_("需要填写"), default=True, help_text=_("不勾选表示仅向市民展示说明，不接收输入"))
    order = models.PositiveIntegerField(_("顺序"), default=0)
    description = models.CharField(_("问题"), max_length=300)
    datatype_description = models.CharField(_("填写说明"), max_length=300, blank=True)
    values = models.JSONField(_("可选值"), default=list, blank=True)

    class Meta:
        verbose_name = _("Open311 附加字段")
        verbose_name_plural = _("Open311 附加字段")
        ordering = ["order", "id"]
        constraints = [models.UniqueConstraint(fields=["service", "code"], name="open311_attribute_code_unique")]

    def __str__(self) -> str:
        return f"{self.code}（{self.description}）"


class ServiceRequest(models.Model):
    """The Open311 side of a work order posted through the endpoint.

    Rules: one per order, written in the transaction that creates the order. ``token`` answers
    ``GET tokens/{token}``. ``description`` is the text the client posted (the order's content adds the
    attributes for the handlers). The personal data the client sent (email, names, phone, device and
    account ids) stays in this row: no GET endpoint reads it.
    """

    order = models.OneToOneField(
        "workorders.WorkOrder", verbose_name=_("工单"), on_delete=models.PROTECT, related_name="open311_request"
    )
    api_key = models.ForeignKey(ApiKey, verbose_name=_("接口密钥"), on_delete=models.PROTECT, related_name="requests")
    token = models.CharField(_("令牌"), max_length=40, unique=True)
    service_code = models.CharField(_("服务代码"), max_length=40)
    description = models.TextField(_("描述"), blank=True)
    attributes = models.JSONField(_("附加字段"), default=dict, blank=True)
    address_string = models.CharField(_("地址"), max_length=300, blank=True)
    address_id = models.CharField(_("地址编号"), max_length=100, blank=True)
    media_url = models.CharField(_("图片链接"), max_length=500, blank=True)
    # Personal data: never in a GET answer.
    email = models.CharField(_("邮箱"), max_length=254, blank=True)
    first_name = models.CharField(_("名"), max_length=30, blank=True)
    last_name = models.CharField(_("姓"), max_length=30, blank=True)
    phone = models.CharField(_("电话"), max_length=20, blank=True)
    device_id = models.CharField(_("设备编号"), max_length=100, blank=True)
    account_id = models.CharField(_("账号编号"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("提交时间"), default=timezone.now)

    class Meta:
        verbose_name = _("Open311 诉求")
        verbose_name_plural = _("Open311 诉求")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.service_code} · {self.token}"


class RequestUpdate(models.Model):
    """A comment a client posted (``POST servicerequestupdates``), recorded on the order as a 补充说明
    event (the text is the event's note).

    Rules: ``client_update_id`` (the client's own id of the comment, optional) is unique per key, so a
    client that posts the same comment twice gets the first answer back and no second event. The
    names and email stay here, never in a GET answer.
    """

    api_key = models.ForeignKey(ApiKey, verbose_name=_("接口密钥"), on_delete=models.PROTECT, related_name="updates")
    order = models.ForeignKey("workorders.WorkOrder", verbose_name=_("工单"), on_delete=models.PROTECT, related_name="+")
    event = models.OneToOneField(
        "workorders.WorkOrderEvent", verbose_name=_("流转记录"), on_delete=models.PROTECT, related_name="open311_update"
    )
    client_update_id = models.CharField(_("客户端编号"), max_length=64, blank=True)
    client_updated_at = models.DateTimeField(_("客户端时间"), null=True, blank=True)
    media_url = models.CharField(_("图片链接"), max_length=500, blank=True)
    # Personal data: never in a GET answer.
    email = models.CharField(_("邮箱"), max_length=254, blank=True)
    first_name = models.CharField(_("名"), max_length=30, blank=True)
    last_name = models.CharField(_("姓"), max_length=30, blank=True)
    created_at = models.DateTimeField(_("提交时间"), default=timezone.now)

    class Meta:
        verbose_name = _("Open311 补充说明")
        verbose_name_plural = _("Open311 补充说明")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["api_key", "client_update_id"], condition=~Q(client_update_id=""),
                name="open311_update_client_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.api_key.name} · {self.client_update_id or self.pk}"
