"""Every audit event type a room writes is a choice of core's AuditEventType, so the admin and the audit
pages show a label rather than a raw string."""

from __future__ import annotations

from tongxin.accounts.security import SecurityEvent
from tongxin.core.choices import AuditEventType
from tongxin.mediation import retention as mediation_retention
from tongxin.participation.choices import Event as ParticipationEvent
from tongxin.points.choices import PointsAudit
from tongxin.regions.choices import GRID_ROSTER_CHANGED
from tongxin.workorders import retention as workorder_retention


def test_every_rooms_event_type_is_a_core_choice():
    written = {member.value for member in SecurityEvent} | {member.value for member in ParticipationEvent}
    written |= {value for name, value in vars(PointsAudit).items() if name.isupper()}
    written |= {GRID_ROSTER_CHANGED, mediation_retention.EVENT_TYPE, workorder_retention.EVENT_TYPE}
    assert written - set(AuditEventType.values) == set()
