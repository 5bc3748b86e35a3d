"""Every write of the points room. Keyword-only, one transaction each.

The ledger's three guarantees live here and in the database:

- **the same cause never pays twice**: every entry carries an idempotency key under a UNIQUE
  constraint; a replay hits the constraint inside a savepoint and returns the entry already written
  (no read-then-write, so two workers racing on one cause still pay once);
- **balances never go negative**: every movement locks the account row (``select_for_update``) before
  it reads the balance, and the stored balance carries a CHECK constraint ``balance >= 0``;
- **entries are never changed**: a correction is a reversal entry (``reverses``), written once.

Lock order, everywhere: redemption → item → account (so a redemption and a cancellation never
deadlock each other).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from tongxin.core.audit import audit_record
from tongxin.core.datums import haversine_m
from tongxin.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed, require_text

from .choices import (
    RULE_REPORT_CONFIRMED,
    RULE_VOLUNTEER_HOURS,
    AppealStatus,
    AwardStatus,
    PointKind,
    PointsAudit,
    RedemptionStatus,
    SignupStatus,
)
from .defaults import RULES, RULES_BY_CODE, TIERS
from .models import (
    Account,
    Activity,
    Appeal,
    Entry,
    Item,
    PendingAward,
    Redemption,
    Rule,
    Signup,
    SweepCursor,
    Tier,
)
from .selectors import (
    COMMITTEE_ROLES,
    POINTS_STAFF_ROLES,
    activities_visible_to,
    actor_covers_resident,
    items_visible_to,
    resident_area_paths,
    tier_for,
)

PICKUP_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: typed by a merchant from a phone
PICKUP_LENGTH = 8
PRIORITY_SALT = "tongxin.points.priority.v1"
PRIORITY_MAX_AGE = 300  # seconds: a screenshot of yesterday's code is worthless at the counter
ACTIVITY_SALT = "tongxin.points.activity.v1"
REPORT_SWEEP_OVERLAP = timedelta(minutes=10)  # re-read the edge: a confirmation committed late still pays once


# --- the ledger ---------------------------------------------------------------------------------------

def _account_locked(resident: Any, kind: str) -> Account:
    """The resident's account of ``kind``, created on first use, locked for this transaction."""
    try:
        with transaction.atomic():
            Account.objects.get_or_create(resident_id=resident.pk, kind=kind)
    except IntegrityError:  # another transaction created it between our read and our insert
        pass
    return Account.objects.select_for_update().get(resident_id=resident.pk, kind=kind)


def _post(*, account: Account, amount: int, key: str, label: str, rule: Rule | None = None, actor: Any = None,
          reverses: Entry | None = None) -> Entry:
    """Append one entry to a locked account. A replayed key returns the entry already written."""
    new_balance = account.balance + amount
    if new_balance < 0:
        raise ValidationFailed(fields={"amount": _("积分不足：当前余额 %(balance)s，需要 %(need)s") % {
            "balance": account.balance, "need": -amount}})
    try:
        with transaction.atomic():
            entry = Entry.objects.create(
                account=account, amount=amount, balance_after=new_balance, idempotency_key=key,
                cause_label=label[:200], rule=rule, reverses=reverses,
                actor=actor if getattr(actor, "pk", None) else None,
            )
    except IntegrityError:
        existing = Entry.objects.filter(idempotency_key=key).first()
        if existing is None:  # not the key: the reversal's one-to-one (reversed twice at once)
            raise Conflict(_("该积分记录已被冲正")) from None
        return existing
    Account.objects.filter(pk=account.pk).update(balance=new_balance, updated_at=timezone.now())
    account.balance = new_balance
    return entry


@transaction.atomic
def points_defaults_ensure() -> None:
    """Create the built-in rules and tiers that are missing (never changes existing ones)."""
    for code, name, kind, amount, threshold, description in RULES:
        Rule.objects.get_or_create(code=code, defaults={"name": name, "kind": kind, "amount": amount,
                                                        "approval_threshold": threshold, "description": description})
    for name, min_points, privileges in TIERS:
        Tier.objects.get_or_create(min_points=min_points, defaults={"name": name, "privileges": privileges})


def _rule_get(rule_code: str) -> Rule:
    rule = Rule.objects.filter(code=rule_code).first()
    if rule is None and rule_code in RULES_BY_CODE:
        _code, name, kind, amount, threshold, description = RULES_BY_CODE[rule_code]
        rule, _created = Rule.objects.get_or_create(code=rule_code, defaults={
            "name": name, "kind": kind, "amount": amount, "approval_threshold": threshold, "description": description})
    if rule is None:
        raise ValidationFailed(fields={"rule_code": _("没有代码为 %(code)s 的积分规则") % {"code": rule_code}})
    return rule


def _check_key(cause_key: str) -> str:
    key = str(cause_key or "").strip()
    if not key:
        raise ValidationFailed(fields={"cause_key": _("积分原因的唯一标识不能为空")})
    if len(key) > 80:
        raise ValidationFailed(fields={"cause_key": _("积分原因的唯一标识不能超过 80 个字符")})
    return key


def _apply(*, resident: Any, rule: Rule, cause_key: str, cause_label: str, actor: Any, units: Decimal) -> Entry | None:
    # Per resident: a cause such as "topic:7" pays each voter once, and never one voter twice.
    key = f"{rule.code}:r{resident.pk}:{_check_key(cause_key)}"
    label = (cause_label or rule.name)[:200]
    if not rule.active:
        return None
    amount = int((Decimal(rule.amount) * units).to_integral_value(rounding=ROUND_HALF_UP))
    if amount == 0:
        return None
    if amount > 0 and rule.approval_threshold is not None and amount > rule.approval_threshold:
        done = Entry.objects.filter(idempotency_key=key).first()  # already approved: a replay is a no-op
        if done is not None:
            return done
        try:
            with transaction.atomic():
                PendingAward.objects.create(resident_id=resident.pk, rule=rule, amount=amount, idempotency_key=key,
                                            cause_label=label, proposed_by=actor if getattr(actor, "pk", None) else None)
        except IntegrityError:
            pass  # proposed before: the committee decides it once
        return None
    account = _account_locked(resident, rule.kind)
    if amount < 0:
        # A deduction takes at most what is there: the balance never goes below zero.
        existing = Entry.objects.filter(idempotency_key=key).first()
        if existing is not None:
            return existing
        amount = -min(-amount, account.balance)
        if amount == 0:
            return None
    return _post(account=account, amount=amount, key=key, label=label, rule=rule, actor=actor)


@transaction.atomic
def points_earn(*, resident, rule_code: str, cause_key: str, cause_label: str = "", actor=None) -> Entry | None:
    """Apply the configured rule `rule_code` (e.g. "vote_cast", "report_confirmed", "volunteer_hours", "commendation") to the resident. Idempotent by cause_key: the same cause never pays twice (a DB unique constraint on the idempotency key, not a read-then-write). Returns the entry, or None if the rule is inactive. Large awards (above the rule's approval threshold) create a pending award awaiting a second person's approval instead of an entry."""
    return _apply(resident=resident, rule=_rule_get(rule_code), cause_key=cause_key, cause_label=cause_label,
                  actor=actor, units=Decimal(1))


@transaction.atomic
def points_award_by_staff(*, actor: Any, resident: Any, rule_code: str, cause_label: str, cause_key: str = "") -> Entry | None:
    """A staff member applies a rule (a commendation 见义勇为, or a deduction for a confirmed uncivil
    act) to a resident of their area (outside it: 404). The cause is described in words; ``cause_key``
    (default: a fresh one) makes a resubmitted form a no-op."""
    if not actor_covers_resident(actor, resident, POINTS_STAFF_ROLES):
        raise NotFound()
    label = require_text(cause_label, "cause_label", label=_("原因"), max_chars=200)
    rule = _rule_get(rule_code)
    key = cause_key or f"staff:{actor.pk}:{secrets.token_hex(8)}"
    return _apply(resident=resident, rule=rule, cause_key=key, cause_label=label, actor=actor, units=Decimal(1))


@transaction.atomic
def entry_reverse(*, entry: Entry, actor: Any, reason: str) -> Entry:
    """Correct an entry by a new entry of the opposite amount (once; a reversal is never reversed).
    Refused when the points were already spent (the balance would go negative)."""
    reason = require_text(reason, "reason", label=_("冲正原因"), max_chars=180)
    entry = Entry.objects.select_related("account").get(pk=entry.pk)
    if entry.reverses_id is not None:
        raise Conflict(_("冲正记录不能再冲正"))
    if Redemption.objects.filter(entry=entry).exists():
        raise Conflict(_("兑换的扣分请通过取消兑换退回"))
    account = Account.objects.select_for_update().get(pk=entry.account_id)
    if Entry.objects.filter(reverses=entry).exists():
        raise Conflict(_("该积分记录已被冲正"))
    reversal = _post(account=account, amount=-entry.amount, key=f"reverse:{entry.pk}",
                     label=_("冲正：%(reason)s") % {"reason": reason}, rule=entry.rule, actor=actor, reverses=entry)
    audit_record(actor=actor, event_type=PointsAudit.ENTRY_REVERSED, object_type="points.entry", object_id=entry.pk,
                 data={"reversal": reversal.pk, "amount": reversal.amount})
    return reversal


@transaction.atomic
def award_decide(*, award: PendingAward, actor: Any, approve: bool, note: str = "") -> PendingAward:
    """The points supervision committee decides a pending award: a member of the resident's area
    (leader or supervisor) other than the proposer. Approval pays with the cause's key."""
    award = PendingAward.objects.select_for_update().select_related("resident__household", "rule").get(pk=award.pk)
    if not actor_covers_resident(actor, award.resident, COMMITTEE_ROLES):
        raise NotFound()
    if award.status != AwardStatus.PENDING:
        raise Conflict(_("该奖励已审核"))
    if award.proposed_by_id is not None and award.proposed_by_id == actor.pk:
        raise PermissionDenied(_("奖励须由提出人以外的另一名积分监督委员会成员审核"))
    note = require_text(note, "note", label=_("审核意见"), max_chars=300, required=False)
    award.status = AwardStatus.APPROVED if approve else AwardStatus.REJECTED
    award.decided_by, award.decided_at, award.decision_note = actor, timezone.now(), note
    if approve:
        account = _account_locked(award.resident, award.rule.kind)
        award.entry = _post(account=account, amount=award.amount, key=award.idempotency_key, label=award.cause_label,
                            rule=award.rule, actor=actor)
    award.save()
    audit_record(actor=actor, event_type=PointsAudit.AWARD_APPROVED if approve else PointsAudit.AWARD_REJECTED,
                 object_type="points.pending_award", object_id=award.pk,
                 data={"amount": award.amount, "proposed_by": award.proposed_by_id})
    return award


# --- appeals --------------------------------------------------------------------------------------------

@transaction.atomic
def appeal_file(*, resident: Any, entry_id: Any, reason: str) -> Appeal:
    """The resident appeals one of their own deductions (another's, or none: 404), once."""
    try:
        pk = int(entry_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    entry = Entry.objects.filter(pk=pk, account__resident_id=resident.pk).first()
    if entry is None:
        raise NotFound()
    if entry.amount >= 0 or entry.reverses_id is not None:
        raise ValidationFailed(fields={"entry_id": _("只能对扣分记录提出申诉")})
    reason = require_text(reason, "reason", label=_("申诉理由"), max_chars=500)
    if Entry.objects.filter(reverses=entry).exists():
        raise Conflict(_("该扣分已被撤销"))
    try:
        with transaction.atomic():
            return Appeal.objects.create(entry=entry, reason=reason)
    except IntegrityError:
        raise Conflict(_("该扣分已提出过申诉")) from None


@transaction.atomic
def appeal_decide(*, appeal: Appeal, actor: Any, reverse: bool, note: str) -> Appeal:
    """Staff of the resident's area review an appeal: upheld (nothing changes) or reversed (a
    reversal entry gives the points back)."""
    appeal = Appeal.objects.select_for_update().select_related("entry__account__resident__household").get(pk=appeal.pk)
    resident = appeal.entry.account.resident
    if not actor_covers_resident(actor, resident, POINTS_STAFF_ROLES):
        raise NotFound()
    if appeal.status != AppealStatus.PENDING:
        raise Conflict(_("该申诉已复核"))
    note = require_text(note, "note", label=_("复核意见"), max_chars=300)
    if reverse:
        entry_reverse(entry=appeal.entry, actor=actor, reason=_("申诉成立：%(note)s") % {"note": note})
    appeal.status = AppealStatus.REVERSED if reverse else AppealStatus.UPHELD
    appeal.decided_by, appeal.decided_at, appeal.decision_note = actor, timezone.now(), note
    appeal.save()
    audit_record(actor=actor, event_type=PointsAudit.APPEAL_DECIDED, object_type="points.appeal", object_id=appeal.pk,
                 data={"status": appeal.status})
    return appeal


# --- the mall ------------------------------------------------------------------------------------------

def _pickup_code() -> str:
    return "".join(secrets.choice(PICKUP_ALPHABET) for _i in range(PICKUP_LENGTH))


@transaction.atomic
def redemption_create(*, resident: Any, item_id: Any) -> Redemption:
    """Redeem one item: the stock (a conditional UPDATE that never takes it below zero) and the
    balance (the locked account) in one transaction; either both change or neither."""
    try:
        pk = int(item_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    item = Item.objects.filter(pk=pk, active=True).select_related("area").first()
    if item is None or not any(p.startswith(item.area.path) for p in resident_area_paths(resident)):
        raise NotFound()
    # The row lock of this UPDATE is held to commit: the fifty-first buyer waits, then finds 0.
    if Item.objects.filter(pk=item.pk, stock__gt=0).update(stock=F("stock") - 1) != 1:
        raise ValidationFailed(fields={"item_id": _("该商品已兑完")})
    account = _account_locked(resident, PointKind.MATERIAL)
    for _attempt in range(5):
        code = _pickup_code()
        if not Redemption.objects.filter(pickup_code=code).exists():
            break
    entry = _post(account=account, amount=-item.price, key=f"redeem:{code}",
                  label=_("兑换：%(name)s") % {"name": item.name})
    return Redemption.objects.create(resident_id=resident.pk, item=item, price=item.price, pickup_code=code, entry=entry)


@transaction.atomic
def redemption_cancel(*, resident: Any, redemption_id: Any) -> Redemption:
    """The resident cancels their own redemption before pickup: a reversal entry refunds the points and
    the item goes back on the shelf."""
    try:
        pk = int(redemption_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    redemption = Redemption.objects.select_for_update().filter(pk=pk, resident_id=resident.pk).first()
    if redemption is None:
        raise NotFound()
    if redemption.status != RedemptionStatus.PENDING:
        raise Conflict(_("已领取或已取消的兑换不能再取消"))
    Item.objects.filter(pk=redemption.item_id).update(stock=F("stock") + 1)
    account = Account.objects.select_for_update().get(pk=redemption.entry.account_id)
    redemption.refund_entry = _post(account=account, amount=redemption.price, key=f"reverse:{redemption.entry_id}",
                                    label=_("取消兑换退回"), reverses=redemption.entry)
    redemption.status, redemption.cancelled_at = RedemptionStatus.CANCELLED, timezone.now()
    redemption.save()
    return redemption


def _normalise_code(code: str) -> str:
    return "".join(ch for ch in str(code or "").upper() if ch.isalnum())


@transaction.atomic
def redemption_pickup(*, actor: Any, pickup_code: str) -> Redemption:
    """The mall operator (staff of the item's area) hands over the item for a typed or scanned pickup
    code. A code of another area, or none, is 404."""
    code = _normalise_code(pickup_code)
    if len(code) != PICKUP_LENGTH:
        raise ValidationFailed(fields={"pickup_code": _("领取码应为 %(n)s 位字母或数字") % {"n": PICKUP_LENGTH}})
    redemption = (
        Redemption.objects.select_for_update()
        .filter(pickup_code=code, item__in=items_visible_to(actor).values("pk")).first()
    )
    if redemption is None:
        raise NotFound()
    if redemption.status != RedemptionStatus.PENDING:
        raise Conflict(_("该领取码已使用或已取消"))
    redemption.status, redemption.picked_up_at, redemption.picked_up_by = RedemptionStatus.PICKED_UP, timezone.now(), actor
    redemption.save()
    audit_record(actor=actor, event_type=PointsAudit.PICKUP, object_type="points.redemption", object_id=redemption.pk)
    return redemption


@transaction.atomic
def item_create(*, actor: Any, area: Any, name: str, price: Any, stock: Any, description: str = "",
                pickup_place: str = "") -> Item:
    """A mall item offered in ``area`` (which the actor's points-staff scope must cover: else 404)."""
    from tongxin.accounts.selectors import actor_scope

    scope = actor_scope(actor)
    if not (scope.is_admin or scope.area_role_covers(POINTS_STAFF_ROLES, area.path)):
        raise NotFound()
    name = require_text(name, "name", label=_("名称"), max_chars=80)
    fields: dict[str, str] = {}
    price_i = _int(price, "price", _("所需积分"), fields, minimum=1)
    stock_i = _int(stock, "stock", _("库存"), fields, minimum=0)
    if fields:
        raise ValidationFailed(fields=fields)
    return Item.objects.create(area=area, name=name, price=price_i, stock=stock_i,
                               description=require_text(description, "description", label=_("说明"), max_chars=300,
                                                        required=False),
                               pickup_place=require_text(pickup_place, "pickup_place", label=_("领取地点"),
                                                         max_chars=200, required=False))


def _int(value: Any, field: str, label: str, fields: dict[str, str], *, minimum: int, maximum: int = 10**9) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        fields[field] = _("%(label)s应为整数") % {"label": label}
        return 0
    if number < minimum or number > maximum:
        fields[field] = _("%(label)s应在 %(min)s 到 %(max)s 之间") % {"label": label, "min": minimum, "max": maximum}
    return number


# --- the priority check at the service hall ------------------------------------------------------------

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # no I, L, O, U: what a clerk types is what was shown


def _c32(n: int, width: int = 1) -> str:
    out = ""
    while True:
        n, r = divmod(n, 32)
        out = CROCKFORD[r] + out
        if n == 0:
            return out.rjust(width, "0")


def _c32_decode(text: str) -> int | None:
    value = 0
    for ch in text.upper().replace("O", "0").replace("I", "1").replace("L", "1"):
        index = CROCKFORD.find(ch)
        if index < 0:
            return None
        value = value * 32 + index
    return value


def _priority_mac(pk: int, ts: int) -> str:
    digest = salted_hmac(PRIORITY_SALT, f"{pk}.{ts}", algorithm="sha256").digest()
    return _c32(int.from_bytes(digest[:7], "big") >> 6, width=10)  # 50 bits: enough for a code that dies in minutes


def priority_token_make(*, resident: Any, at: datetime | None = None) -> str:
    """A short-lived signed code for the resident's phone (valid ``PRIORITY_MAX_AGE`` seconds):
    ``<id>-<time>-<mac>`` in Crockford base 32, short enough for a clerk to type (O/0 and I/L/1 are
    read alike)."""
    ts = int((at or timezone.now()).timestamp())
    return f"{_c32(resident.pk)}-{_c32(ts)}-{_priority_mac(resident.pk, ts)}"


def _priority_parse(token: str) -> int | None:
    parts = "".join(ch for ch in str(token or "").upper() if ch.isalnum() or ch == "-").split("-")
    if len(parts) != 3 or not all(parts) or len(parts[2]) != 10:
        return None
    pk, ts, mac = _c32_decode(parts[0]), _c32_decode(parts[1]), _c32_decode(parts[2])
    if pk is None or ts is None or mac is None:
        return None
    if not constant_time_compare(_c32(mac, width=10), _priority_mac(pk, ts)):
        return None
    age = timezone.now().timestamp() - ts
    if age > PRIORITY_MAX_AGE or age < -60:  # a minute of clock skew between the phone's server time and ours
        return None
    return pk


@transaction.atomic
def priority_check(*, actor: Any, token: str) -> dict[str, Any]:
    """A clerk reads a resident's priority code: only the virtue tier and its privileges come back
    (no name, no phone). Expired, forged, or of a resident outside the clerk's area: all the same
    ``ValidationFailed``. Every successful check is audited."""
    from tongxin.accounts.choices import Role
    from tongxin.residents.models import Resident

    clerk_roles = frozenset({Role.CLERK})
    token = str(token or "").strip()
    invalid = ValidationFailed(fields={"token": _("优先服务码无效或已过期，请居民刷新后重新出示")})
    resident_pk = _priority_parse(token)
    if resident_pk is None:
        raise invalid
    resident = Resident.objects.select_related("household__area", "household__grid").filter(pk=resident_pk,
                                                                                             active=True).first()
    if resident is None or not actor_covers_resident(actor, resident, clerk_roles):
        raise invalid
    virtue = Account.objects.filter(resident_id=resident.pk, kind=PointKind.VIRTUE).values_list("balance", flat=True).first() or 0
    tier = tier_for(virtue)
    result = {"tier": tier.name if tier else _("暂无等级"), "privileges": tier.privilege_list if tier else []}
    audit_record(actor=actor, event_type=PointsAudit.PRIORITY_CHECK, object_type="residents.resident",
                 object_id=resident.pk, data={"tier": result["tier"]})
    return result


# --- volunteering --------------------------------------------------------------------------------------

def activity_token(activity: Activity) -> str:
    """The activity's on-site code: ``a<id>.<mac>`` (a MAC over the id: nobody makes a code for another)."""
    mac = salted_hmac(ACTIVITY_SALT, str(activity.pk), algorithm="sha256").hexdigest()[:20]
    return f"a{activity.pk}.{mac}"


def activity_from_token(token: str) -> Activity:
    head, _sep, mac = str(token or "").partition(".")
    if not head.startswith("a") or not head[1:].isdigit():
        raise NotFound()
    activity = Activity.objects.filter(pk=int(head[1:])).select_related("area").first()
    if activity is None or not constant_time_compare(mac, activity_token(activity).partition(".")[2]):
        raise NotFound()
    return activity


def _float(value: Any, field: str, label: str, fields: dict[str, str], lo: float, hi: float) -> float:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        fields[field] = _("%(label)s应为数字") % {"label": label}
        return 0.0
    if not lo <= number <= hi:
        fields[field] = _("%(label)s应在 %(lo)s 到 %(hi)s 之间") % {"label": label, "lo": lo, "hi": hi}
    return number


def _aware(value: Any, field: str, label: str, fields: dict[str, str]) -> datetime | None:
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    try:
        parsed = datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        fields[field] = _("%(label)s格式应为 YYYY-MM-DD HH:MM") % {"label": label}
        return None
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


@transaction.atomic
def activity_create(*, actor: Any, area: Any, title: str, location: str, lat: Any, lng: Any, capacity: Any,
                    starts_at: Any, ends_at: Any, radius_m: Any = 200, description: str = "") -> Activity:
    """A volunteering activity in ``area`` organised by the actor (points staff of that area: else 404)."""
    from tongxin.accounts.selectors import actor_scope

    scope = actor_scope(actor)
    if not (scope.is_admin or scope.area_role_covers(POINTS_STAFF_ROLES, area.path)):
        raise NotFound()
    fields: dict[str, str] = {}
    title = require_text(title, "title", label=_("活动名称"), max_chars=120)
    location = require_text(location, "location", label=_("地点"), max_chars=200)
    lat_f = _float(lat, "lat", _("纬度"), fields, -90, 90)
    lng_f = _float(lng, "lng", _("经度"), fields, -180, 180)
    capacity_i = _int(capacity, "capacity", _("名额"), fields, minimum=1, maximum=10000)
    radius_i = _int(radius_m, "radius_m", _("签到半径"), fields, minimum=20, maximum=5000)
    start = _aware(starts_at, "starts_at", _("开始时间"), fields)
    end = _aware(ends_at, "ends_at", _("结束时间"), fields)
    if start and end and end <= start:
        fields["ends_at"] = _("结束时间应晚于开始时间")
    if fields or start is None or end is None:
        raise ValidationFailed(fields=fields)
    return Activity.objects.create(
        area=area, title=title, location=location, lat=lat_f, lng=lng_f, capacity=capacity_i, radius_m=radius_i,
        starts_at=start, ends_at=end, organiser=actor,
        description=require_text(description, "description", label=_("说明"), max_chars=500, required=False),
    )


@transaction.atomic
def signup_create(*, resident: Any, activity: Activity) -> Signup:
    """Sign up for an activity of the resident's area, within capacity. The activity row is locked
    while the sign-ups are counted, so the last place goes to exactly one resident."""
    activity = Activity.objects.select_for_update().select_related("area").get(pk=activity.pk)
    if not any(p.startswith(activity.area.path) for p in resident_area_paths(resident)):
        raise NotFound()
    if activity.ends_at <= timezone.now():
        raise ValidationFailed(fields={"activity": _("活动已结束，不能报名")})
    existing = Signup.objects.filter(activity=activity, resident_id=resident.pk).first()
    if existing is not None and existing.status != SignupStatus.CANCELLED:
        return existing
    taken = Signup.objects.filter(activity=activity).exclude(status=SignupStatus.CANCELLED).count()
    if taken >= activity.capacity:
        raise ValidationFailed(fields={"activity": _("名额已满")})
    if existing is not None:
        existing.status = SignupStatus.SIGNED_UP
        existing.save(update_fields=["status"])
        return existing
    return Signup.objects.create(activity=activity, resident_id=resident.pk)


@transaction.atomic
def signup_cancel(*, resident: Any, activity_id: Any) -> Signup:
    """The resident withdraws before checking in; the place goes back to the pool."""
    signup = Signup.objects.select_for_update().filter(activity_id=activity_id, resident_id=resident.pk).first()
    if signup is None:
        raise NotFound()
    if signup.status != SignupStatus.SIGNED_UP:
        raise Conflict(_("已签到的报名不能取消"))
    signup.status = SignupStatus.CANCELLED
    signup.save(update_fields=["status"])
    return signup


@transaction.atomic
def signup_scan(*, resident: Any, token: str, lat: Any, lng: Any) -> Signup:
    """Check in (first scan) or check out (second scan) on site: the phone's position must lie within
    the activity's radius of its place."""
    activity = activity_from_token(token)
    signup = Signup.objects.select_for_update().filter(activity=activity, resident_id=resident.pk).first()
    if signup is None or signup.status == SignupStatus.CANCELLED:
        raise ValidationFailed(fields={"activity": _("您没有报名该活动")})
    fields: dict[str, str] = {}
    lat_f = _float(lat, "lat", _("纬度"), fields, -90, 90)
    lng_f = _float(lng, "lng", _("经度"), fields, -180, 180)
    if fields:
        raise ValidationFailed(fields={"location": _("没有取得手机定位，请允许定位后重试")})
    distance = haversine_m(lat_f, lng_f, activity.lat, activity.lng)
    if distance > activity.radius_m:
        raise ValidationFailed(fields={"location": _("您距活动地点约 %(d)s 米，需在 %(r)s 米内签到") % {
            "d": round(distance), "r": activity.radius_m}})
    now = timezone.now()
    if signup.status == SignupStatus.SIGNED_UP:
        signup.status, signup.checked_in_at, signup.checked_in_distance_m = SignupStatus.CHECKED_IN, now, distance
    elif signup.status == SignupStatus.CHECKED_IN:
        signup.status, signup.checked_out_at, signup.checked_out_distance_m = SignupStatus.CHECKED_OUT, now, distance
    else:
        raise Conflict(_("您已签退"))
    signup.save()
    return signup


@transaction.atomic
def signup_confirm_hours(*, actor: Any, signup: Signup, hours: Any) -> Signup:
    """The organiser (points staff of the activity's area) confirms the hours of a checked-out
    volunteer, once; they pay by the ``volunteer_hours`` rule (per hour), idempotently."""
    signup = Signup.objects.select_for_update().select_related("activity__area").get(pk=signup.pk)
    if not activities_visible_to(actor).filter(pk=signup.activity_id).exists():
        raise NotFound()
    if signup.status != SignupStatus.CHECKED_OUT:
        raise Conflict(_("只有已签退的志愿者才能确认时长"))
    try:
        value = Decimal(str(hours).strip()).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError):
        raise ValidationFailed(fields={"hours": _("时长应为数字（小时）")}) from None
    span = ((signup.checked_out_at - signup.checked_in_at).total_seconds() / 3600
            if signup.checked_in_at and signup.checked_out_at else 0.0)
    if value <= 0 or value > 24:
        raise ValidationFailed(fields={"hours": _("时长应在 0.1 到 24 小时之间")})
    if float(value) > span + 0.5:  # the organiser may round up, not invent
        raise ValidationFailed(fields={"hours": _("时长不能超过签到到签退的时间（约 %(h).1f 小时）") % {"h": span}})
    signup.hours, signup.status = value, SignupStatus.CONFIRMED
    signup.confirmed_by, signup.confirmed_at = actor, timezone.now()
    signup.save()
    from tongxin.residents.models import Resident

    _apply(resident=Resident(pk=signup.resident_id), rule=_rule_get(RULE_VOLUNTEER_HOURS),
           cause_key=f"signup:{signup.pk}", cause_label=_("志愿服务：%(t)s %(h)s 小时") % {
               "t": signup.activity.title, "h": value}, actor=actor, units=value)
    return signup


# --- the periodic award of confirmed reports -------------------------------------------------------------

def _report_confirmations(*, since: datetime, until: datetime) -> list[Any]:
    from tongxin.residents import selectors as resident_selectors

    return list(resident_selectors.report_confirmations(since=since, until=until))  # type: ignore[attr-defined]


def _resident_get(pk: int) -> Any:
    from tongxin.residents import selectors as resident_selectors

    return resident_selectors.resident_get(pk)  # type: ignore[attr-defined]


def report_awards_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Award ``report_confirmed`` for every report confirmed since the last run (plus a small overlap).
    Idempotent: each report's key is ``report_confirmed:r<resident id>:report:<id>``; running twice pays once."""
    now = now or timezone.now()
    with transaction.atomic():
        cursor = SweepCursor.objects.select_for_update().filter(name=RULE_REPORT_CONFIRMED).first()
        since = (cursor.until - REPORT_SWEEP_OVERLAP) if cursor else datetime(2000, 1, 1, tzinfo=UTC)
        paid = seen = 0
        for confirmation in _report_confirmations(since=since, until=now):
            seen += 1
            resident = _resident_get(confirmation.resident_id)
            if resident is None:
                continue
            before = Entry.objects.filter(
                idempotency_key=f"{RULE_REPORT_CONFIRMED}:r{resident.pk}:report:{confirmation.report_id}").exists()
            entry = points_earn(resident=resident, rule_code=RULE_REPORT_CONFIRMED,
                                cause_key=f"report:{confirmation.report_id}",
                                cause_label=_("有效诉求（工单 %(id)s 已确认）") % {"id": confirmation.order_id})
            paid += int(entry is not None and not before)
        SweepCursor.objects.update_or_create(name=RULE_REPORT_CONFIRMED, defaults={"until": now})
    return {"seen": seen, "paid": paid}
