"""Request and response shapes of the work-order API (/api/v1/work-orders, /kpis, /categories).

Inputs forbid unknown fields (a misspelt ``categroy_code`` is an error, not a silently uncategorised
order); every action input carries the optional ``version`` the client read, for optimistic
concurrency. Outputs never carry a citizen's unmasked name or phone: only ``/citizen`` reveals them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Field, Schema
from pydantic import AwareDatetime, ConfigDict

from tongxin.core.datums import Datum

from .choices import (
    Action,
    AssignmentRole,
    Channel,
    ExtensionStatus,
    Kind,
    ReturnReason,
    Satisfaction,
    SlaState,
    Status,
    UnsatisfiedCause,
    Urgency,
)

# Primary keys are 64-bit: larger numbers are refused before they reach the database driver.
MAX_ID = 2**63 - 1

VERSION_DESCRIPTION = (
    "The order's `version` as last read. If another user changed the order since, the action is refused "
    "with 409 `stale_version` and nothing is written. Omit it to act on whatever is current."
)


class ErrorOut(Schema):
    """The single error shape of the API."""

    code: str = Field(..., description="Stable machine code, e.g. `validation_error`, `stale_version`, `not_found`.")
    message: str = Field(..., description="A sentence for people (Chinese).")
    fields: dict[str, Any] = Field(default_factory=dict, description="Field name → reason (Chinese).")


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 413: ErrorOut, 422: ErrorOut}


class InSchema(Schema):
    model_config = ConfigDict(extra="forbid")


# --- inputs -------------------------------------------------------------------------------------

class WorkOrderCreateIn(InSchema):
    channel: Channel = Field(..., description="Where the request came from.")
    kind: Kind
    urgency: Urgency = Urgency.NORMAL
    title: str = Field("", description="At most 200 characters.")
    content: str = Field(..., description="The request in the citizen's words (at most TONGXIN_MAX_CONTENT_CHARS, 5,000 by default).")
    category_code: str | None = Field(None, description="Code of an active category (see GET /categories); needed before dispatch.")
    lat: float | None = Field(None, description="Latitude; must be inside China. Give lat and lng together.")
    lng: float | None = Field(None, description="Longitude; must be inside China.")
    crs: Datum = Field(Datum.WGS84, description="Datum of lat/lng: wgs84 (GPS), gcj02 (Amap, Tencent, WeChat) or bd09 (Baidu). Stored as WGS-84.")
    address: str = Field("", description="At most 300 characters.")
    area_code: str | None = Field(
        None, description="Place the order in this area. Without it, the deepest area containing lat/lng (or the city)."
    )
    citizen_name: str = Field("", description="Personal data: masked in every output except GET /work-orders/{id}/citizen.")
    citizen_phone: str = Field("", description="Personal data, as citizen_name.")
    anonymous: bool = Field(False, description="An anonymous request keeps neither name nor phone.")
    external_id: str = Field("", description="The caller system's own id (at most 64 characters).")
    note: str = Field("", description="Written to the acceptance event of the timeline.")


class VersionIn(InSchema):
    version: int | None = Field(None, ge=1, le=MAX_ID, description=VERSION_DESCRIPTION)


class NoteIn(VersionIn):
    note: str = Field("", description="Optional remark for the timeline (at most 2,000 characters).")


class RequiredNoteIn(VersionIn):
    note: str = Field(..., description="Required explanation for the timeline (at most 2,000 characters).")


class DispatchIn(NoteIn):
    lead_department_id: int | None = Field(
        None, ge=1, le=MAX_ID,
        description="Lead department. Omit it to take the dispatch catalogue's suggestion (lead and co-handlers).",
    )
    co_department_ids: list[int] | None = Field(
        None, max_length=20,
        description="Co-handling departments. With an explicit lead and no list: none. With the catalogue: added to its co-handlers.",
    )


class ReturnIn(RequiredNoteIn):
    reason: ReturnReason


class ExtensionRequestIn(VersionIn):
    requested_due_at: AwareDatetime = Field(
        ..., description="The new completion deadline, ISO 8601 with a time zone (e.g. 2026-11-30T18:00:00+08:00)."
    )
    reason: str


class TextIn(VersionIn):
    text: str = Field(..., description="The answer (at most TONGXIN_MAX_CONTENT_CHARS characters).")


class ReplyIn(TextIn):
    attachment_ids: list[int] = Field(
        default_factory=list, max_length=50, description="Attachments of this order (POST .../attachments) shown with the reply."
    )


class ResolveOnCallIn(TextIn):
    knowledge_article_id: int | None = Field(None, ge=1, le=MAX_ID)


class CallbackIn(NoteIn):
    satisfaction: Satisfaction
    cause: UnsatisfiedCause | None = Field(None, description="Required when unsatisfied, refused otherwise.")


class RedoIn(VersionIn):
    cause: UnsatisfiedCause = Field(
        ..., description="One the department controls: not_solved, no_contact, poor_attitude or delayed."
    )
    note: str = Field(..., description="Why the order is redone; shown to the department.")


class CommentIn(TextIn):
    source: str = Field("", description="Where the addition came from, e.g. `hotline` or an app's name (at most 40).")


class MergeIn(NoteIn):
    into_id: int = Field(..., ge=1, le=MAX_ID, description="The original order this duplicate joins.")


# --- outputs ------------------------------------------------------------------------------------

class DepartmentRef(Schema):
    id: int
    code: str
    name: str


class AreaRef(Schema):
    code: str
    name: str
    level: str


class CategoryRef(Schema):
    id: int
    code: str
    name: str
    level: int


class OrderRef(Schema):
    id: int
    number: str
    status: Status


class SlaOut(Schema):
    sign: SlaState = Field(..., description="Sign-off clock: runs while dispatched.")
    completion: SlaState = Field(..., description="Completion clock: runs while dispatched or in progress.")


class EventOut(Schema):
    id: int
    action: str
    action_label: str
    from_status: str
    to_status: str
    actor_id: int | None
    actor_label: str
    actor_role: str
    department: DepartmentRef | None
    at: datetime
    note: str
    data: dict[str, Any]


class AssignmentOut(Schema):
    id: int
    department: DepartmentRef
    role: AssignmentRole
    active: bool
    assigned_at: datetime
    sign_due_at: datetime | None
    signed_at: datetime | None
    returned_at: datetime | None
    return_reason: str
    replied_at: datetime | None
    reply_text: str


class ExtensionOut(Schema):
    id: int
    status: ExtensionStatus
    department_id: int
    requested_by_id: int
    requested_at: datetime
    previous_due_at: datetime
    requested_due_at: datetime
    reason: str


class AttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    url: str
    uploaded_at: datetime


class LinksOut(Schema):
    merged_into: OrderRef | None = Field(None, description="The original this duplicate was merged into.")
    merged_orders: list[OrderRef] = Field(default_factory=list, description="Duplicates merged into this order.")
    redo_of: OrderRef | None = Field(None, description="The closed order this one redoes.")
    redos: list[OrderRef] = Field(default_factory=list, description="Orders raised to redo this one.")


class WorkOrderListItem(Schema):
    id: int
    number: str
    version: int
    status: Status
    status_label: str
    channel: Channel
    kind: Kind
    urgency: Urgency
    title: str
    summary: str = Field(..., description="The first 120 characters of the content.")
    category: CategoryRef | None
    area: AreaRef
    lead_department: DepartmentRef | None
    citizen_name: str = Field(..., description="Masked (张*).")
    citizen_phone: str = Field(..., description="Masked (138****5678).")
    anonymous: bool
    is_repeat: bool
    accepted_at: datetime
    sign_due_at: datetime | None
    due_at: datetime | None
    sla: SlaOut


class WorkOrderPage(Schema):
    count: int = Field(..., description="Orders matching the filters, all pages together.")
    items: list[WorkOrderListItem]


class CreatedLinks(Schema):
    self: str = Field(..., description="The order's detail (timeline, assignments, allowed actions): GET this URL.")


class WorkOrderCreated(Schema):
    """The answer to intake (201): what a caller needs to quote and track the new order. The full
    detail is one GET away (``links.self``); an order just accepted has one timeline entry and no
    assignments, so intake does not read them back (docs/api.md, ADR 0008)."""

    id: int
    number: str = Field(..., description="The number citizens and staff quote, e.g. 2026112400017.")
    version: int = Field(..., description="Send it back as `version` with an action for optimistic concurrency.")
    status: Status
    status_label: str
    channel: Channel
    accepted_at: datetime
    area: AreaRef = Field(..., description="Where the order was placed (deepest area containing lat/lng, area_code, or the city).")
    lat: float | None = Field(..., description="WGS-84 (converted if sent in GCJ-02 or BD-09).")
    lng: float | None = Field(..., description="WGS-84.")
    is_repeat: bool = Field(..., description="The same caller in the same category within 30 days.")
    external_id: str
    links: CreatedLinks


class WorkOrderDetail(Schema):
    id: int
    number: str
    version: int = Field(..., description="Send it back as `version` with an action for optimistic concurrency.")
    status: Status
    status_label: str
    channel: Channel
    channel_label: str
    kind: Kind
    kind_label: str
    urgency: Urgency
    urgency_label: str
    title: str
    content: str
    category: CategoryRef | None
    lat: float | None = Field(..., description="WGS-84.")
    lng: float | None = Field(..., description="WGS-84.")
    address: str
    area: AreaRef
    citizen_name: str = Field(..., description="Masked; GET /work-orders/{id}/citizen reveals it (audited).")
    citizen_phone: str = Field(..., description="Masked; GET /work-orders/{id}/citizen reveals it (audited).")
    anonymous: bool
    is_repeat: bool
    external_id: str
    lead_department: DepartmentRef | None
    accepted_at: datetime
    dispatched_at: datetime | None
    signed_at: datetime | None
    replied_at: datetime | None
    closed_at: datetime | None
    sign_due_at: datetime | None
    sign_warn_at: datetime | None
    due_at: datetime | None
    due_warn_at: datetime | None
    sla: SlaOut
    reply_text: str
    satisfaction: str
    unsatisfied_cause: str
    callback_at: datetime | None
    timeline: list[EventOut] = Field(..., description="Rebuilt from the order's append-only events, oldest first.")
    assignments: list[AssignmentOut] = Field(..., description="Lead and co-handling departments, past ones inactive.")
    pending_extension: ExtensionOut | None
    allowed_actions: list[Action] = Field(
        ..., description="Actions this user may take now; each is POST /work-orders/{id}/<action with - for _>."
    )
    attachments: list[AttachmentOut]
    links: LinksOut


class CitizenOut(Schema):
    order_id: int
    number: str
    citizen_name: str
    citizen_phone: str
    anonymous: bool


class DispatchSuggestionOut(Schema):
    lead: DepartmentRef | None
    co: list[DepartmentRef]
    reason: str
    rule_id: int | None


class KpiDefinition(Schema):
    label: str
    definition: str


class KpiRow(Schema):
    key: int | None = Field(..., description="Department id, level-1 category id or area id; null for the total.")
    label: str
    accepted: int
    replied: int
    called_back: int
    sign_on_time_rate: float | None
    on_time_rate: float | None
    completion_rate: float | None
    satisfaction_rate: float | None
    return_rate: float | None
    repeat_rate: float | None


class KpiOut(Schema):
    start: date
    end: date = Field(..., description="Inclusive.")
    group_by: str | None
    definitions: dict[str, KpiDefinition] = Field(..., description="KPI name → its one definition.")
    rows: list[KpiRow]


class CategoryOut(Schema):
    id: int
    code: str
    name: str
    level: int
    parent_code: str | None
    path: list[str] = Field(..., description="Names from the level-1 ancestor down to this category.")
    keywords: str
    initials: str = Field(..., description="Pinyin initials of the name, for quick search.")


class CategoryNode(CategoryOut):
    children: list[CategoryNode] = Field(default_factory=list)
