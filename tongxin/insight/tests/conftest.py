"""Fixtures of the insight tests: fast password hashing (the world creates 13 users), a model trained on
the synthetic corpus, closed orders of a history, and clean per-process caches."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tongxin.insight.classifier import clear_cache
from tongxin.insight.training import fit

from .synthetic import corpus, sample

_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clean_insight_caches(settings, tmp_path):
    from tongxin.insight import selectors, suggest

    settings.TONGXIN_CLASSIFIER_MODEL = ""
    settings.TONGXIN_CLASSIFIER_DIR = str(tmp_path / "models")
    clear_cache()
    selectors._verified.clear()
    suggest.invalidate_routing_cache()
    yield
    clear_cache()
    suggest.invalidate_routing_cache()


@pytest.fixture(scope="session")
def synthetic_model_file(tmp_path_factory) -> str:
    texts, labels = corpus(60, seed=1)
    path = tmp_path_factory.mktemp("model") / "synthetic.npz"
    fit(texts, {"level1": labels}).save(path)
    return str(path)


def closed_history(world: Any, *, per_class: int, seed: int = 3, area: Any = None, lead: Any = None,
                   flip: float = 0.0, only_bucket: Any = None) -> list[Any]:
    """Closed orders written straight to the table: the retraining reads only their text, category and
    status, and playing hundreds of orders through every service step would make these tests minutes
    long (the services themselves are tested in tongxin/workorders). ``flip`` gives that share of the
    orders a wrong category (a worse training set)."""
    from tongxin.workorders.choices import Status
    from tongxin.workorders.models import WorkOrder

    rng = random.Random(seed)
    area = area or world.grid_a
    categories = {"城乡建设": world.category_leaf, "教育文体": world.category_other, "卫生计生": world.category_health}
    now = timezone.now()
    orders = []
    for label, category in categories.items():
        for _ in range(per_class):
            text = sample(label, rng)
            if only_bucket is not None and not only_bucket(text):
                continue
            if flip and rng.random() < flip:
                category = rng.choice([c for name, c in categories.items() if name != label])
            else:
                category = categories[label]
            at = now - timedelta(days=rng.uniform(1, 300))
            orders.append(WorkOrder(
                number=f"H{next(_numbers):012d}", channel="hotline", kind="complaint", status=Status.CLOSED, content=text,
                category=category, area=area, area_path=area.path, accepted_at=at, closed_at=at + timedelta(days=2),
                lead_department=lead or world.housing, dispatched_at=at + timedelta(hours=1),
            ))
    return WorkOrder.objects.bulk_create(orders)


@pytest.fixture
def health(world):
    """A third level-1 category in the world's tree, so that the history has three classes."""
    from tongxin.workorders.catalogue import category_upsert

    world.category_health = category_upsert(code="C03", name="卫生计生")
    return world
