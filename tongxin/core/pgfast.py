"""Helpers for the one-statement write paths on PostgreSQL (intake, ADR 0008; resident receipts,
ADR 0011): a health check without a round trip, and a cursor that prepares its statement.

Both keep Django's connection wrapper around the raw cursor (query logging, execute wrappers, error
translation), so the callers see Django's exceptions and ``CaptureQueriesContext`` counts them.
"""

from __future__ import annotations

import select
from typing import Any

from django.conf import settings


def cheap_health_check(db: Any) -> None:
    """CONN_HEALTH_CHECKS without the round trip, where the socket can tell: Django checks a reused
    connection with ``SELECT 1`` before the first query of a request, which for a one-statement
    request is a second round trip. A connection the server has closed (restart, fail-over,
    terminated backend) has a readable socket (end of file, or the FATAL message first); an idle
    healthy one has nothing to read. So: nothing to read and libpq's status OK → healthy; anything
    else → Django's own check runs as usual (and reconnects if it fails)."""
    conn = db.connection
    if conn is None or not db.health_check_enabled or db.health_check_done:
        return
    try:
        from psycopg.pq import ConnStatus, TransactionStatus

        if conn.closed or conn.pgconn.status != ConnStatus.OK or conn.info.transaction_status != TransactionStatus.IDLE:
            return
        readable, _writable, _errored = select.select([conn.fileno()], [], [], 0)
    except Exception:
        return
    if not readable:
        db.health_check_done = True


def statement_cursor(db: Any) -> Any:
    """A cursor for a one-statement write. With TONGXIN_INTAKE_PREPARED (default on; it governs every
    one-statement path) a server-side binding cursor that prepares the statement, so that PostgreSQL
    parses and plans it once per connection instead of once per request, and sends bytes as binary
    parameters; Django's wrapper stays around it. Off for a pooler that cannot keep prepared
    statements (PgBouncer before 1.21 in transaction mode): then Django's ordinary cursor."""
    cheap_health_check(db)
    if _PreparingCursor is None or not getattr(settings, "TONGXIN_INTAKE_PREPARED", False):
        return db.cursor()
    # What connection.cursor() does first: the health check (CONN_HEALTH_CHECKS), then connect.
    db.close_if_health_check_failed()
    db.ensure_connection()
    with db.wrap_database_errors:
        raw = _PreparingCursor(db.connection)
    return db.make_debug_cursor(raw) if db.queries_logged else db.make_cursor(raw)


try:
    import psycopg

    class _PreparingCursor(psycopg.Cursor):  # type: ignore[type-arg]
        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            kwargs.setdefault("prepare", True)
            return super().execute(query, params, **kwargs)
except ImportError:  # psycopg 2 or no PostgreSQL driver at all: the plain cursor
    _PreparingCursor = None  # type: ignore[assignment,misc]
