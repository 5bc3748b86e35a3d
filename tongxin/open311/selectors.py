"""Reads behind the Open311 endpoints: the service catalogue, the published orders and their public
steps, and the masking that keeps personal data out of every GET answer.

Orders are read only through the work-order selectors (``work_orders_visible_to``). The public GET
endpoints have no user: they read as ``PUBLIC_READER``, the city itself, which sees every order, and
then narrow to what is published (``published_orders``). Events are read through that queryset (its
reverse relation ``events``), so no event of an unpublished order can slip out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import F, Max, Q, QuerySet

from tongxin.core.masking import mask_id_number, mask_name, mask_phone
from tongxin.workorders.choices import TERMINAL_STATUSES, Action, Channel, Kind, Status
from tongxin.workorders.models import Category
from tongxin.workorders.selectors import work_orders_visible_to

from .models import Attribute, Publish, RequestUpdate, Service, ServiceRequest

MAX_RESULTS = 1000


class _PublicReader:
    """The reader of the public GET endpoints: the city as a whole. ``actor_scope`` gives a superuser
    the admin scope (every order); ``published_orders`` then narrows to what may be shown. Never used
    to write anything."""

    pk = None
    is_authenticated = True
    is_active = True
    is_superuser = True

    def get_username(self) -> str:
        return "open311-public"


PUBLIC_READER = _PublicReader()


# --- the service catalogue --------------------------------------------------------------------------

def _keywords(raw: str) -> str:
    """"垃圾，清理 ; 卫生" → "垃圾, 清理, 卫生": the specification's comma-separated list."""
    return ", ".join(word for word in re.split(r"[,，;；、\s]+", raw or "") if word)


@dataclass
class ServiceEntry:
    category: Category
    group: str
    keywords: str
    description: str
    metadata: bool


def service_list() -> list[ServiceEntry]:
    """Every active category is a service; its group is the name of its level-1 ancestor. Three
    queries, whatever the number of categories."""
    categories = list(
        Category.objects.filter(active=True).select_related("open311_service").order_by("path", "id")
    )
    with_attributes = set(Attribute.objects.values_list("service__category_id", flat=True).distinct())
    return _entries(categories, with_attributes)


def _entries(categories: list[Category], with_attributes: set[int]) -> list[ServiceEntry]:
    ids: set[int] = set()
    for category in categories:
        ids.update(int(part) for part in category.path.strip("/").split("/") if part)
    names = dict(Category.objects.filter(pk__in=ids).values_list("pk", "name"))
    entries = []
    for category in categories:
        chain = [int(part) for part in category.path.strip("/").split("/") if part] or [category.pk]
        setting = getattr(category, "open311_service", None)
        description = setting.description if setting and setting.description else " > ".join(
            names.get(pk, "") for pk in chain if names.get(pk)
        )
        entries.append(ServiceEntry(
            category=category, group=names.get(chain[0], category.name), keywords=_keywords(category.keywords),
            description=description, metadata=category.pk in with_attributes,
        ))
    return entries


def service_get(code: str) -> Category | None:
    """An active category by its code (the service_code), or None."""
    if not code or len(code) > 40:
        return None
    return Category.objects.filter(code=code, active=True).select_related("open311_service").first()


def service_setting(category: Category) -> Service | None:
    return getattr(category, "open311_service", None)


def service_attributes(category: Category) -> list[Attribute]:
    return list(Attribute.objects.filter(service__category=category).order_by("order", "id"))


# --- published orders ---------------------------------------------------------------------------------

# The steps of an order the public may follow. Internal ones are left out: reminders, supervision,
# extension requests and denials, co-handlers' replies to the lead, comments from other channels, and
# the note on the original order that a duplicate was merged into it.
PUBLIC_ACTIONS = frozenset({
    Action.ACCEPT, Action.RESOLVE_ON_CALL, Action.DISPATCH, Action.SIGN, Action.RETURN, Action.REASSIGN,
    Action.FORCE_DISPATCH, Action.APPROVE_EXTENSION, Action.REPLY, Action.CALLBACK, Action.REDO,
    Action.WITHDRAW, Action.MARK_INVALID, Action.TRANSFER_POLICE,
})
COMMENT_SOURCE = "open311"


def public_event_q(prefix: str = "events__") -> Q:
    return (
        Q(**{f"{prefix}action__in": sorted(PUBLIC_ACTIONS)})
        | Q(**{f"{prefix}action": Action.MERGE, f"{prefix}to_status": Status.MERGED})
        | Q(**{f"{prefix}action": Action.COMMENT, f"{prefix}data__source": COMMENT_SOURCE})
    )


def _publication_q() -> Q:
    """Orders the GET endpoints show: by default those posted through Open311 with a category; a
    service set to ``all`` adds its orders from every channel except 举报 (kind ``report``, whose
    confidentiality the law protects); a service set to ``none`` shows nothing."""
    hidden: list[int] = []
    everything: list[int] = []
    for category_id, publish in Service.objects.exclude(publish=Publish.OPEN311).values_list("category_id", "publish"):
        (hidden if publish == Publish.NONE else everything).append(category_id)
    q = Q(channel=Channel.OPEN311, category__isnull=False)
    if hidden:
        q &= ~Q(category_id__in=hidden)
    if everything:
        q |= Q(category_id__in=everything) & ~Q(kind=Kind.REPORT)
    return q


def published_orders() -> QuerySet[Any]:
    return work_orders_visible_to(PUBLIC_READER).filter(_publication_q())


def _with_details(qs: QuerySet[Any]) -> QuerySet[Any]:
    return qs.select_related("category", "lead_department", "open311_request").annotate(
        public_updated_at=Max("events__at", filter=public_event_q())
    )


def request_list(
    *, numbers: list[str] | None = None, service_codes: list[str] | None = None, start: datetime | None = None,
    end: datetime | None = None, statuses: set[str] | None = None, limit: int = MAX_RESULTS,
) -> list[Any]:
    """Published orders, newest first. ``numbers`` (order numbers) overrides every other filter, as
    the specification says of ``service_request_id``. One query."""
    qs = published_orders()
    if numbers is not None:
        qs = qs.filter(number__in=numbers)
    else:
        if service_codes:
            qs = qs.filter(category__code__in=service_codes)
        if start is not None:
            qs = qs.filter(accepted_at__gte=start)
        if end is not None:
            qs = qs.filter(accepted_at__lte=end)
        if statuses == {"open"}:
            qs = qs.exclude(status__in=TERMINAL_STATUSES)
        elif statuses == {"closed"}:
            qs = qs.filter(status__in=TERMINAL_STATUSES)
    return list(_with_details(qs).order_by("-accepted_at", "-id")[:limit])


def request_get(number: str) -> Any | None:
    if not number or len(number) > 20:
        return None
    return _with_details(published_orders().filter(number=number)).first()


def token_get(token: str) -> ServiceRequest | None:
    """The request behind a token. The token is the client's secret, and the answer holds nothing but
    the request's number, so it is answered whether or not the order is published."""
    if not token or len(token) > 40:
        return None
    return ServiceRequest.objects.select_related("order").filter(token=token).first()


@dataclass
class PublicStep:
    update_id: int
    number: str
    action: str
    at: datetime
    to_status: str
    note: str
    data: dict[str, Any]
    department: str
    media_url: str
    personal: list[str]


def update_list(*, start: datetime, end: datetime, limit: int = MAX_RESULTS) -> list[PublicStep]:
    """Public steps of published orders that happened in [start, end], oldest first (clients poll
    forward in time). Two queries."""
    rows = list(
        published_orders()
        # One filter() call: every condition applies to the same event row.
        .filter(Q(events__at__gte=start) & Q(events__at__lte=end) & public_event_q())
        .values(
            "number", "citizen_name", "open311_request__first_name", "open311_request__last_name",
            "open311_request__email", event_id=F("events__id"), action=F("events__action"), at=F("events__at"),
            to_status=F("events__to_status"), note=F("events__note"), data=F("events__data"),
            department=F("events__department__name"),
        )
        .order_by("events__at", "events__id")[:limit]
    )
    posted = {
        event_id: (media_url, [first, last, email])
        for event_id, media_url, first, last, email in RequestUpdate.objects.filter(
            event_id__in=[row["event_id"] for row in rows]
        ).values_list("event_id", "media_url", "first_name", "last_name", "email")
    }
    steps = []
    for row in rows:
        media_url, comment_personal = posted.get(row["event_id"], ("", []))
        personal = [row["citizen_name"], row["open311_request__first_name"], row["open311_request__last_name"],
                    row["open311_request__email"], *comment_personal]
        steps.append(PublicStep(
            update_id=row["event_id"], number=row["number"], action=row["action"], at=row["at"],
            to_status=row["to_status"], note=row["note"] or "", data=row["data"] or {},
            department=row["department"] or "", media_url=media_url, personal=[p for p in personal if p],
        ))
    return steps


def open_or_closed(status: str) -> str:
    return "closed" if status in TERMINAL_STATUSES else "open"


# --- keeping personal data out -----------------------------------------------------------------------

# Phone numbers and ID numbers inside free text: a run of 7 or more digits (an ID number may end in
# X), a mobile written 138-1234-5678 or 138 1234 5678, a landline with its area code 0477-8581234;
# each with an optional +86. Dates (2026-11-23) and short numbers (house numbers) do not match.
_PHONE_LIKE = re.compile(
    r"(?<![0-9])(?:\+?86[- ]?)?"
    r"(?P<number>1[0-9]{2}[- ][0-9]{4}[- ][0-9]{4}|0[0-9]{2,3}[- ][0-9]{7,8}|[0-9]{7,}[Xx]?)(?![0-9])"
)


def _mask_match(match: re.Match[str]) -> str:
    digits = re.sub(r"[^0-9Xx]", "", match.group("number"))
    if len(digits) >= 15:
        return mask_id_number(digits)
    return mask_phone(digits)


_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")

# The sections ``services.service_request_create`` appends to an order's content for the handlers.
EXTRA_MARK = "【附加信息】"
SOURCE_MARK = "【来源】"


def public_description(content: str) -> str:
    """The citizen's own words of an order's content: without the attribute answers and the source
    line appended for the handlers (an order copied from an Open311 one, e.g. a redo, carries them
    without having an Open311 record of its own)."""
    for mark in (EXTRA_MARK, SOURCE_MARK):
        content = content.split(f"\n\n{mark}")[0]
    return content


def public_text(text: str, personal: list[str] | tuple[str, ...] = ()) -> str:
    """Free text (a request's description, a reply, a comment) as the public may read it: the known
    personal values of the order (the citizen's name, the client-sent names and email) masked, then
    every e-mail address and every phone-like or ID-like digit run masked (13812345678 → 138****5678)."""
    if not text:
        return ""
    for value in sorted({p.strip() for p in personal if p and len(p.strip()) >= 2}, key=len, reverse=True):
        text = text.replace(value, "***" if "@" in value else mask_name(value))
    text = _EMAIL.sub("***", text)
    return _PHONE_LIKE.sub(_mask_match, text)


def order_personal_values(order: Any) -> list[str]:
    """Personal values known for an order, to mask wherever they appear in its public texts."""
    values = [order.citizen_name]
    record = getattr(order, "open311_request", None)
    if record is not None:
        values += [record.first_name, record.last_name, record.email, f"{record.last_name}{record.first_name}",
                   f"{record.first_name} {record.last_name}"]
    return [v for v in values if v]
