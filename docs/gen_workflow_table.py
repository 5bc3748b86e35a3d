"""Print (or refresh) the generated tables of docs/workorders.md from the code.

    .venv/bin/python docs/gen_workflow_table.py            # print every generated section
    .venv/bin/python docs/gen_workflow_table.py --write    # rewrite the sections inside docs/workorders.md
    .venv/bin/python docs/gen_workflow_table.py --check    # exit 1 if docs/workorders.md is out of date

Sources: ``tongxin.workorders.choices`` (statuses, actions and their Chinese labels),
``tongxin.workorders.workflow.TRANSITIONS`` (the lifecycle), ``tongxin.workorders.sla.DEFAULT_RULES``
(the default SLA policy) and the docstring of ``tongxin.workorders.selectors`` (the KPI definitions). Each section sits between ``<!-- BEGIN GENERATED: name -->`` and
``<!-- END GENERATED: name -->`` in the document; nothing outside the markers is touched.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "workorders.md"
sys.path.insert(0, str(ROOT))


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.settings")
    import django

    django.setup()


SCOPE_TEXT = {
    "area": "area: a role scoped to an area that contains the order's area",
    "lead": "lead: a handler of the order's current lead department",
    "co": "co: a handler of an active co-handling department",
}


def _roles(roles: frozenset[str]) -> str:
    from tongxin.accounts.choices import Role

    order = list(Role.values)
    return ", ".join(f"{Role(r).label} `{r}`" for r in sorted(roles, key=order.index))


def statuses() -> str:
    from tongxin.workorders.choices import NOT_COUNTED, TERMINAL_STATUSES, WITH_DEPARTMENT, Status
    from tongxin.workorders.workflow import allowed_actions

    lines = ["| status | 中文 | terminal | clocks run | counted in KPIs | actions open |", "|---|---|---|---|---|---|"]
    for status in Status:
        actions = ", ".join(f"`{a.value}`" for a in allowed_actions(status)) or "—"
        clocks = "sign-off + completion" if status == Status.DISPATCHED else (
            "completion" if status in WITH_DEPARTMENT else "—")
        lines.append(
            f"| `{status.value}` | {status.label} | {'yes' if status in TERMINAL_STATUSES else 'no'} | {clocks} "
            f"| {'no' if status in NOT_COUNTED else 'yes'} | {actions} |"
        )
    return "\n".join(lines)


def actions() -> str:
    from tongxin.workorders.choices import Action
    from tongxin.workorders.workflow import SYSTEM_ACTIONS, TRANSITIONS

    in_table = {a for (_s, a) in TRANSITIONS}
    lines = ["| action | 中文 | note |", "|---|---|---|"]
    for action in Action:
        notes = []
        if action not in in_table:
            notes.append("not a transition: the event written when an order is created (intake or redo)")
        if action in SYSTEM_ACTIONS:
            notes.append("also taken by the system (the SLA sweep)")
        lines.append(f"| `{action.value}` | {action.label} | {'; '.join(notes)} |")
    return "\n".join(lines)


def transitions() -> str:
    from tongxin.workorders.choices import Action, Status
    from tongxin.workorders.workflow import TRANSITIONS

    status_order = list(Status)
    action_order = list(Action)
    lines = [
        "| status | action | next status | who | scope |",
        "|---|---|---|---|---|",
    ]
    for (status, action), t in sorted(
        TRANSITIONS.items(), key=lambda item: (status_order.index(item[0][0]), action_order.index(item[0][1]))
    ):
        to = "(unchanged)" if t.to is None else f"`{t.to.value}` {t.to.label}"
        if t.to is not None and t.to == status:
            to += " (again)"
        lines.append(
            f"| `{status.value}` {status.label} | `{action.value}` {action.label} | {to} | {_roles(t.roles)} | {t.scope} |"
        )
    lines.append("")
    lines.append("Scopes: " + "; ".join(SCOPE_TEXT.values()) + ".")
    lines.append(f"{len(TRANSITIONS)} legal (status, action) pairs; every other pair of the "
                 f"{len(Status)} statuses × {len(Action)} actions answers `409 illegal_transition`.")
    return "\n".join(lines)


def sla_defaults() -> str:
    from tongxin.core.choices import LimitUnit
    from tongxin.workorders.choices import Kind, Urgency
    from tongxin.workorders.sla import DEFAULT_RULES, DEFAULT_WARNING_RATIO

    def limit(value: float, unit: str) -> str:
        return f"{value:g} {LimitUnit(unit).label}"

    urgency_order, kind_order = list(Urgency.values), ["", *Kind.values]
    lines = ["| urgency | request kind | sign-off limit | completion limit |", "|---|---|---|---|"]
    for (urgency, kind), (sv, su, cv, cu) in sorted(
        DEFAULT_RULES.items(), key=lambda item: (urgency_order.index(item[0][0]), kind_order.index(item[0][1]))
    ):
        if kind:
            kind_text = f"`{kind}` {Kind(kind).label}"
        else:
            own = {k for (u, k) in DEFAULT_RULES if u == urgency and k}
            rest = [str(Kind(k).label) for k in Kind.values if k not in own]
            kind_text = "every kind" if not own else "every other kind (" + "、".join(rest) + ")"
        lines.append(f"| `{urgency}` {Urgency(urgency).label} | {kind_text} | {limit(sv, su)} | {limit(cv, cu)} |")
    lines.append("")
    lines.append(f"Warning ratio (yellow light): {DEFAULT_WARNING_RATIO:g} of the allowed time.")
    return "\n".join(lines)


def kpis() -> str:
    """The KPI definitions, verbatim from the docstring of tongxin/workorders/selectors.py (up to the
    first blank line after the list), as a quotation."""
    from tongxin.workorders import selectors

    doc = (selectors.__doc__ or "").strip("\n")
    paragraphs = doc.split("\n\n")
    start = next(i for i, para in enumerate(paragraphs) if para.startswith("KPI definitions"))
    end = next((i for i in range(start + 1, len(paragraphs)) if not paragraphs[i].startswith("- ")), len(paragraphs))
    quoted = "\n\n".join(paragraphs[start:end])
    return "\n".join(f"> {line}".rstrip() for line in quoted.splitlines())


SECTIONS: dict[str, Callable[[], str]] = {
    "statuses": statuses,
    "actions": actions,
    "transitions": transitions,
    "sla-defaults": sla_defaults,
    "kpis": kpis,
}


def render(text: str) -> str:
    for name, build in SECTIONS.items():
        pattern = re.compile(
            rf"(<!-- BEGIN GENERATED: {re.escape(name)} -->\n).*?(<!-- END GENERATED: {re.escape(name)} -->)", re.S
        )
        if not pattern.search(text):
            raise SystemExit(f"{DOC}: markers for section {name!r} not found")
        body = build()
        text = pattern.sub(lambda m, body=body: f"{m.group(1)}{body}\n{m.group(2)}", text)
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", help="rewrite the generated sections of docs/workorders.md")
    group.add_argument("--check", action="store_true", help="exit 1 when docs/workorders.md is out of date")
    args = parser.parse_args()
    _setup()
    if not (args.write or args.check):
        for name, build in SECTIONS.items():
            print(f"<!-- BEGIN GENERATED: {name} -->\n{build()}\n<!-- END GENERATED: {name} -->\n")
        return 0
    current = DOC.read_text(encoding="utf-8")
    fresh = render(current)
    if args.check:
        if fresh != current:
            print(f"{DOC} is out of date: run python docs/gen_workflow_table.py --write", file=sys.stderr)
            return 1
        return 0
    if fresh != current:
        DOC.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
