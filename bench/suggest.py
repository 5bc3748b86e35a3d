"""Department suggestion against the final department, on the configured database's history:
``TONGXIN_VAR_DIR=... python bench/suggest.py`` (e.g. after ``tongxin demo --no-serve``).

For every closed order a department handled: does the dispatch catalogue name its final lead department
(after returns, reassignments, forced dispatches)? Did the first dispatch? And for the newest 20 %, does
the routing learnt from the older 80 % (tongxin/insight/suggest.py) name it? Read-only.

Exit status: 0 when it ran, 2 when the database holds no closed order.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.settings")

import django  # noqa: E402

django.setup()

from tongxin.insight.suggest import routing_evaluate  # noqa: E402


def main() -> int:
    result = routing_evaluate()
    if not result.get("orders"):
        print("no closed order handled by a department in this database: nothing to measure")
        return 2
    print(json.dumps(result, ensure_ascii=False, indent=1))
    print(f"\ncatalogue: answers {result['catalogue_coverage']:.1%} of {result['orders']} orders, right on "
          f"{result['catalogue_accuracy']:.1%}; the first dispatch was right on {result['first_dispatch_accuracy']:.1%}")
    print(f"learnt from the older 80 %: answers {result['learned_coverage']:.1%} of the newest {result['test_orders']}, "
          f"right on {result['learned_accuracy']:.1%}; catalogue then learnt: {result['combined_accuracy_on_test']:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
