"""The receipt of a resident's report in one statement on PostgreSQL (ADR 0011).

The request's session check and its two inserts become one statement of data-modifying CTEs:

- ``who`` reads the signed-in person from the cookie's claims — the resident, active, in the
  household the cookie names, whose code still has the cookie's version and is not revoked (a
  merchant: the merchant and its contact) — exactly the conditions of ``session.session_load``;
- ``rep`` inserts the Report (``received``) with the reporter's name and phone taken from ``who``;
- ``up`` inserts the staged photos' bytes (binary parameters, no hex escaping).

One statement is its own transaction (or part of the caller's): the receipt and its photos are
written together or not at all, and nothing is written when the session is no longer valid — the
statement then returns no row and the caller answers 401. The columns come from the models
(``_meta.concrete_fields``; NULL columns are left out), their values prepared by the fields, so a new
field needs no change here; ``Report`` and ``ReportUpload`` have no save signals or overridden
``save()`` (a test pins that: adding one means adding it here, or dropping the fast path).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from django.db import DEFAULT_DB_ALIAS, connections

from tongxin.core.pgfast import statement_cursor

from .choices import CodeKind
from .models import Household, Merchant, Report, ReportUpload, Resident


@dataclass(frozen=True)
class Claims:
    """What the resident's signed cookie says (``kind:place_id:resident_id:code_version``), before
    the database has confirmed it."""

    kind: str
    place_id: int
    resident_id: int
    version: int


# Filled from ``who``: the place and the person, never from the request.
REPORTER_COLUMNS = ("household_id", "merchant_id", "resident_id", "phone", "reporter_name")
_REPORT_FIELDS = [f for f in Report._meta.concrete_fields if not f.primary_key and f.column not in REPORTER_COLUMNS]
_UPLOAD_FIELDS = [f for f in ReportUpload._meta.concrete_fields if not f.primary_key and f.column != "report_id"]
_SQL: dict[tuple[Any, ...], str] = {}


def enabled() -> bool:
    """The one-statement path needs PostgreSQL (data-modifying CTEs); elsewhere the ORM path runs."""
    return connections[DEFAULT_DB_ALIAS].vendor == "postgresql"


def _who_sql(kind: str, qn: Any) -> str:
    if kind == CodeKind.HOUSEHOLD:
        resident, household = qn(Resident._meta.db_table), qn(Household._meta.db_table)
        return (
            f"SELECT r.household_id, NULL::bigint AS merchant_id, r.id AS resident_id, r.phone, "  # noqa: S608
            f"left(r.name, 60) AS reporter_name FROM {resident} r JOIN {household} h ON h.id = r.household_id "
            "WHERE r.id = %s AND r.household_id = %s AND r.active AND h.code_revoked_at IS NULL "
            "AND h.code_version = %s"
        )
    merchant = qn(Merchant._meta.db_table)
    return (
        f"SELECT NULL::bigint AS household_id, m.id AS merchant_id, NULL::bigint AS resident_id, "  # noqa: S608
        f"m.contact_phone AS phone, left(m.contact_name, 60) AS reporter_name FROM {merchant} m "
        "WHERE m.id = %s AND m.code_revoked_at IS NULL AND m.code_version = %s"
    )


def _statement(db: Any, kind: str, columns: tuple[str, ...], upload_columns: tuple[str, ...], photos: int) -> str:
    """The statement for this shape (place kind, non-NULL columns, number of photos), built once."""
    key = (kind, columns, upload_columns, photos)
    sql = _SQL.get(key)
    if sql is not None:
        return sql
    qn = db.ops.quote_name
    report, upload = qn(Report._meta.db_table), qn(ReportUpload._meta.db_table)
    # Only model metadata (table and column names) is formatted into the SQL; every value is a parameter.
    parts = [
        f"WITH who AS ({_who_sql(kind, qn)}), "  # noqa: S608
        f"rep AS (INSERT INTO {report} ({', '.join(qn(c) for c in REPORTER_COLUMNS + columns)}) "
        f"SELECT {', '.join('who.' + c for c in REPORTER_COLUMNS)}, {', '.join(['%s'] * len(columns))} FROM who "
        "RETURNING id)"
    ]
    if photos:
        row = "(" + ", ".join(["%s"] * len(upload_columns)) + ")"
        names = ", ".join(f"v{i}" for i in range(len(upload_columns)))
        parts.append(
            f", up AS (INSERT INTO {upload} ({qn('report_id')}, {', '.join(qn(c) for c in upload_columns)}) "  # noqa: S608
            f"SELECT rep.id, {names} FROM rep, (VALUES {', '.join([row] * photos)}) AS v({names}) RETURNING 1) "
            "SELECT rep.id, who.phone, who.reporter_name, (SELECT count(*) FROM up) FROM rep, who"
        )
    else:
        parts.append(" SELECT rep.id, who.phone, who.reporter_name, 0 FROM rep, who")
    sql = _SQL[key] = "".join(parts)
    return sql


def receipt_insert(*, claims: Claims, report: Report, staged: list[ReportUpload]) -> bool:
    """Write ``report`` (in memory, its reporter columns unset) and ``staged`` in one statement,
    provided the claims still hold. On success the report gets its id and the reporter's place,
    person, phone and name, as the ORM path would have set them, and True is returned; False when
    the session no longer holds (nothing was written). A receipt number drawn twice raises the
    database's IntegrityError, as ``Report.objects.create`` would."""
    db = connections[DEFAULT_DB_ALIAS]
    if claims.kind == CodeKind.HOUSEHOLD:
        params: list[Any] = [claims.resident_id, claims.place_id, claims.version]
    elif claims.kind == CodeKind.MERCHANT:
        params = [claims.place_id, claims.version]
    else:
        return False
    columns: list[str] = []
    for f in _REPORT_FIELDS:
        value = getattr(report, f.attname)
        if value is None:
            continue
        params.append(f.get_db_prep_save(value, db))
        columns.append(cast(str, f.column))  # a concrete field has a column (stubs: str | None)
    upload_columns = tuple(cast(str, f.column) for f in _UPLOAD_FIELDS)
    for upload in staged:
        params.extend(f.get_db_prep_save(getattr(upload, f.attname), db) for f in _UPLOAD_FIELDS)
    sql = _statement(db, claims.kind, tuple(columns), upload_columns, len(staged))
    with statement_cursor(db) as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    report.pk, report.phone, report.reporter_name, written = row
    if written != len(staged):  # cannot happen (one statement); refuse to claim a receipt that lacks photos
        raise AssertionError(f"receipt {report.pk}: {written} of {len(staged)} photos written")
    if claims.kind == CodeKind.HOUSEHOLD:
        report.household_id, report.resident_id = claims.place_id, claims.resident_id
    else:
        report.merchant_id = claims.place_id
    report._state.adding = False
    report._state.db = db.alias
    for upload in staged:
        upload.report_id = report.pk
    return True
