"""Request and response shapes of the mediation API (/api/v1/mediation/...). Inputs forbid unknown
fields; action inputs carry the optional ``version`` the client read. Outputs mask parties' phones and ID
numbers: only ``/parties/{id}/reveal`` shows them, audited."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ninja import Field, Schema
from pydantic import AwareDatetime, ConfigDict

from tongxin.workorders.choices import Kind
from tongxin.workorders.schemas import ERRORS, MAX_ID, ErrorOut  # noqa: F401 - the one error shape, shared

from .choices import DisputeType, FailureGuidance, Level, PartyKind, PartySide, SessionKind, Source


class InSchema(Schema):
    model_config = ConfigDict(extra="forbid")


class PartyIn(InSchema):
    name: str = Field(..., max_length=100)
    kind: PartyKind = PartyKind.PERSON
    side: PartySide = PartySide.APPLICANT
    phone: str = Field("", max_length=20)
    id_number: str = Field("", max_length=30)


class CaseCreateIn(InSchema):
    org_id: int = Field(..., ge=1, le=MAX_ID, description="The receiving organisation (首接首办: it owns the case).")
    title: str = Field(..., max_length=200)
    description: str = Field(..., max_length=5000)
    dispute_type: DisputeType
    source: Source
    parties: list[PartyIn] = Field(..., max_length=50, description="At least one party.")
    area_code: str | None = Field(None, max_length=32, description="Where it happened; default the organisation's area.")
    address: str = Field("", max_length=200)
    amount: Decimal | None = Field(None, ge=0, le=Decimal("999999999999"))
    people_count: int = Field(2, ge=1, le=100000)
    risk_violence: bool = False
    risk_group: bool = False
    risk_petition: bool = False
    note: str = Field("", max_length=5000)


class FromWorkOrderIn(InSchema):
    order_id: int = Field(..., ge=1, le=MAX_ID)
    org_id: int = Field(..., ge=1, le=MAX_ID)
    dispute_type: DisputeType
    title: str = Field("", max_length=200)
    note: str = Field("", max_length=5000)


class CaseNoteIn(InSchema):
    note: str = Field("", max_length=5000)
    version: int | None = None


class CaseRequiredNoteIn(InSchema):
    note: str = Field(..., max_length=5000)
    version: int | None = None


class HandoverIn(InSchema):
    to_org_id: int = Field(..., ge=1, le=MAX_ID)
    reason: str = Field(..., max_length=5000)
    version: int | None = None


class JointIn(InSchema):
    leader_id: int = Field(..., ge=1, le=MAX_ID, description="The case leader (包案领导): a user.")
    note: str = Field("", max_length=5000)
    version: int | None = None


class SessionIn(InSchema):
    at: AwareDatetime | None = None
    place: str = Field(..., max_length=200)
    attendees: str = Field("", max_length=5000)
    notes: str = Field(..., max_length=5000)
    mediator_ids: list[int] = Field(default_factory=list, max_length=50)
    version: int | None = None


class AgreeIn(InSchema):
    text: str = Field(..., max_length=20000)
    follow_up_days: int | None = Field(None, ge=1, le=365)
    version: int | None = None


class ConfirmIn(InSchema):
    court: str = Field(..., max_length=100)
    number: str = Field(..., max_length=60)
    confirmed_at: AwareDatetime | None = None
    version: int | None = None


class FailIn(InSchema):
    guidance: FailureGuidance
    note: str = Field(..., max_length=5000)
    version: int | None = None


class FollowUpIn(InSchema):
    note: str = Field(..., max_length=5000)
    stable: bool = True
    version: int | None = None


class RaiseWorkOrderIn(InSchema):
    content: str = Field(..., max_length=5000)
    kind: Kind = Kind.HELP
    category_code: str | None = Field(None, max_length=40)
    version: int | None = None


# --- outputs ------------------------------------------------------------------------------------

class OrgOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    level: Level
    area: dict[str, Any]
    specialities: list[str]


class MediatorOut(Schema):
    id: int
    name: str
    org: dict[str, Any]
    grade: str
    specialities: list[str]
    languages: list[str]
    is_expert: bool


class PartyOut(Schema):
    id: int
    kind: str
    side: str
    name: str
    phone: str = Field(..., description="Masked (138****5678).")
    id_number: str = Field(..., description="Masked.")


class PartyRevealed(Schema):
    id: int
    name: str
    phone: str
    id_number: str


class CaseItem(Schema):
    id: int
    number: str
    version: int
    status: str
    status_label: str
    title: str
    dispute_type: str
    source: str
    received_level: str
    level: str
    owner_org: dict[str, Any]
    area: dict[str, Any]
    received_at: datetime
    concluded_at: datetime | None
    next_follow_up_at: datetime | None
    risk: list[str]


class CasePage(Schema):
    count: int
    items: list[CaseItem]


class CaseDetail(CaseItem):
    description: str
    amount: Decimal | None
    people_count: int
    received_org: dict[str, Any]
    case_leader: str | None
    parties: list[PartyOut]
    agreement_text: str
    agreed_at: datetime | None
    judicial_confirmed_at: datetime | None
    judicial_court: str
    judicial_number: str
    failure_guidance: str
    failure_note: str
    closed_at: datetime | None
    follow_up_days: int
    pending_handover: dict[str, Any] | None
    work_orders: list[dict[str, Any]]
    allowed_actions: list[str]
    timeline: list[dict[str, Any]]


class TargetOut(Schema):
    key: str
    label: str
    numerator: int
    denominator: int
    rate: float | None
    goal: float
    met: bool


class MediationNumbersOut(Schema):
    received: int
    concluded: int
    settled: int
    success_rate: float | None
    judicial_confirmed: int
    follow_up_overdue: int
    targets: list[TargetOut]
    by_level: list[dict[str, Any]] = Field(default_factory=list)
    by_area: list[dict[str, Any]] = Field(default_factory=list, description="One row per area one level below.")


class CaseRef(Schema):
    id: int
    number: str
    status: str
    owner_org: dict[str, Any]


class WorkOrderRef(Schema):
    id: int
    number: str
    status: str


class PeriodQuery(Schema):
    area_code: str | None = None
    level: Level | None = None
    date_from: date | None = None
    date_to: date | None = None


__all__ = ["ERRORS", "SessionKind"]
