"""The API's shapes for consultations."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ninja import Schema
from pydantic import ConfigDict, Field

from tongxin.workorders.schemas import ERRORS, MAX_ID  # noqa: F401 - the one error shape, shared


class InSchema(Schema):
    model_config = ConfigDict(extra="forbid")


class TopicIn(InSchema):
    title: str = Field(max_length=2000)
    body: str = Field(max_length=20000)
    kind: str = Field(max_length=20)
    matter: str = Field("", max_length=20)
    scope_kind: str = Field("area", max_length=20)
    area_id: int | None = Field(None, ge=1, le=MAX_ID)
    building_id: int | None = Field(None, ge=1, le=MAX_ID)
    choice_mode: str = Field("single", max_length=20)
    max_choices: int = Field(1, ge=0, le=1000)
    opens_at: datetime
    closes_at: datetime
    eligibility: str = Field("household", max_length=20)
    secret: bool = False
    publication: str = Field("on_close", max_length=20)
    allow_change: bool = False
    options: list[str] = Field(default_factory=list, max_length=100)


class OptionOut(Schema):
    id: int
    label: str
    stance: str


class TopicOut(Schema):
    id: int
    title: str
    body: str
    kind: str
    matter: str
    scope_kind: str
    area_code: str
    building_id: int | None
    choice_mode: str
    max_choices: int
    opens_at: datetime
    closes_at: datetime
    eligibility: str
    secret: bool
    publication: str
    allow_change: bool
    status: str
    accepting: bool
    electors: int
    options: list[OptionOut]


class TallyRow(Schema):
    option_id: int
    label: str
    ballots: int
    area: Decimal
    share: str


class VerdictOut(Schema):
    passed: bool
    major: bool
    quorum_area: bool
    quorum_owners: bool
    approve_area: bool
    approve_owners: bool
    summary: str
    reasons: list[str]


class ResultsOut(Schema):
    topic_id: int
    electors: int
    electors_area: Decimal
    voted: int
    voted_area: Decimal
    turnout: str
    options: list[TallyRow]
    verdict: VerdictOut | None


class VoteIn(InSchema):
    option_ids: list[int] = Field(max_length=100)


class ReceiptOut(Schema):
    cast_at: datetime
    changed_at: datetime | None
    changes: int
    by_me: bool
    option_labels: list[str] | None


class VoteOut(Schema):
    changed: bool
    option_labels: list[str]
    points_awarded: bool
