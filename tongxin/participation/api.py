"""/api/v1/participation/… (staff: topics, open, close, results) and /api/v1/residents/topics/… (the
resident's topics and vote, with the resident's cookie). Errors have the API's one shape."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Path, Router

from tongxin.core.errors import Conflict, NotFound
from tongxin.residents.api import resident_auth

from . import selectors, services
from .models import Topic
from .schemas import ERRORS, MAX_ID, ReceiptOut, ResultsOut, TopicIn, TopicOut, VoteIn, VoteOut

router = Router(tags=["participation"])
TopicId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _actor(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _readable(request: HttpRequest, pk: int) -> Topic:
    if not selectors.can_read(_actor(request)):
        raise NotFound()
    return selectors.topic_get(actor=_actor(request), pk=pk)


def _topic(topic: Topic) -> dict[str, Any]:
    return {
        "id": topic.pk, "title": topic.title, "body": topic.body, "kind": topic.kind, "matter": topic.matter,
        "scope_kind": topic.scope_kind, "area_code": topic.area.code, "building_id": topic.building_id,
        "choice_mode": topic.choice_mode, "max_choices": topic.max_choices, "opens_at": topic.opens_at,
        "closes_at": topic.closes_at, "eligibility": topic.eligibility, "secret": topic.secret,
        "publication": topic.publication, "allow_change": topic.allow_change, "status": topic.status,
        "accepting": topic.accepting(), "electors": topic.electors_count,
        "options": [{"id": o.pk, "label": o.label, "stance": o.stance} for o in topic.options.all()],
    }


def _results(topic: Topic) -> dict[str, Any]:
    r = selectors.topic_results(topic=topic)
    verdict = None
    if r.verdict is not None:
        v = r.verdict
        verdict = {"passed": v.passed, "major": v.major, "quorum_area": v.quorum_area, "quorum_owners": v.quorum_owners,
                   "approve_area": v.approve_area, "approve_owners": v.approve_owners, "summary": v.summary,
                   "reasons": list(v.reasons)}
    return {"topic_id": topic.pk, "electors": r.electors, "electors_area": r.electors_area, "voted": r.voted,
            "voted_area": r.voted_area, "turnout": r.turnout, "verdict": verdict,
            "options": [{"option_id": o.option_id, "label": o.label, "ballots": o.ballots, "area": o.area,
                         "share": o.share} for o in r.options]}


def _input(body: TopicIn) -> services.TopicInput:
    return services.TopicInput(**body.model_dump())


@router.get("/participation/topics", response={200: list[TopicOut], **ERRORS}, summary="Topics in my jurisdiction")
def topic_list(request: HttpRequest, status: str = "") -> Any:
    if not selectors.can_read(_actor(request)):
        return []
    return [_topic(t) for t in selectors.topic_list(actor=_actor(request), status=status)]


@router.post("/participation/topics", response={201: TopicOut, **ERRORS}, summary="Create a draft topic")
def topic_create(request: HttpRequest, body: TopicIn) -> Any:
    return 201, _topic(services.topic_create(actor=_actor(request), data=_input(body)))


@router.get("/participation/topics/{topic_id}", response={200: TopicOut, **ERRORS}, summary="One topic")
def topic_get(request: HttpRequest, topic_id: TopicId) -> Any:
    return _topic(_readable(request, topic_id))


@router.put("/participation/topics/{topic_id}", response={200: TopicOut, **ERRORS}, summary="Edit a draft")
def topic_update(request: HttpRequest, topic_id: TopicId, body: TopicIn) -> Any:
    _readable(request, topic_id)
    return _topic(services.topic_update(actor=_actor(request), topic_id=topic_id, data=_input(body)))


@router.post("/participation/topics/{topic_id}/open", response={200: TopicOut, **ERRORS}, summary="Publish a draft")
def topic_open(request: HttpRequest, topic_id: TopicId) -> Any:
    _readable(request, topic_id)
    return _topic(services.topic_open(actor=_actor(request), topic_id=topic_id))


@router.post("/participation/topics/{topic_id}/close", response={200: TopicOut, **ERRORS}, summary="End the vote")
def topic_close(request: HttpRequest, topic_id: TopicId) -> Any:
    _readable(request, topic_id)
    return _topic(services.topic_close(actor=_actor(request), topic_id=topic_id))


@router.get("/participation/topics/{topic_id}/results", response={200: ResultsOut, **ERRORS},
            summary="Tally, turnout and the Art. 278 verdict")
def topic_results(request: HttpRequest, topic_id: TopicId) -> Any:
    topic = _readable(request, topic_id)
    if topic.status == "draft":
        raise NotFound()
    return _results(topic)


# --- the resident --------------------------------------------------------------------------------

def _mine(request: HttpRequest, topic_id: int) -> tuple[Any, Topic, Any]:
    session = request.auth  # type: ignore[attr-defined]
    if session.resident is None:
        raise NotFound()
    topic, elector = selectors.resident_topic_get(pk=topic_id, household_id=session.resident.household_id,
                                                  resident_id=session.resident.pk)
    return session.resident, topic, elector


@router.get("/residents/topics", response={200: list[TopicOut], **ERRORS}, auth=resident_auth,
            summary="The topics I (or my household) may vote in")
def resident_topics(request: HttpRequest) -> Any:
    resident = request.auth.resident  # type: ignore[attr-defined]
    if resident is None:
        return []
    return [_topic(t) for t in selectors.resident_topics(household_id=resident.household_id, resident_id=resident.pk)]


@router.get("/residents/topics/{topic_id}", response={200: TopicOut, **ERRORS}, auth=resident_auth,
            summary="One of my topics")
def resident_topic(request: HttpRequest, topic_id: TopicId) -> Any:
    return _topic(_mine(request, topic_id)[1])


@router.get("/residents/topics/{topic_id}/receipt", response={200: ReceiptOut, **ERRORS}, auth=resident_auth,
            summary="My vote's receipt (404 before I vote)")
def resident_receipt(request: HttpRequest, topic_id: TopicId) -> Any:
    resident, topic, elector = _mine(request, topic_id)
    receipt = selectors.receipt_get(topic=topic, elector=elector, resident_id=resident.pk)
    if receipt is None:
        raise NotFound()
    return receipt.__dict__ | {"option_labels": list(receipt.option_labels) if receipt.option_labels is not None else None}


@router.get("/residents/topics/{topic_id}/results", response={200: ResultsOut, **ERRORS}, auth=resident_auth,
            summary="Results, when published")
def resident_results(request: HttpRequest, topic_id: TopicId) -> Any:
    topic = _mine(request, topic_id)[1]
    if not topic.results_public():
        raise NotFound()
    return _results(topic)


@router.post("/residents/topics/{topic_id}/vote", response={201: VoteOut, **ERRORS}, auth=resident_auth,
             summary="Cast (or, where allowed, change) my vote")
def resident_vote(request: HttpRequest, topic_id: TopicId, body: VoteIn) -> Any:
    resident = _mine(request, topic_id)[0]
    try:
        result = services.topic_vote_cast(topic_id=topic_id, resident=resident, option_ids=body.option_ids)
    except Conflict as error:
        if error.code == "vote_already_cast":
            services.vote_refusal_record(topic_id=topic_id, resident=resident, reason=error.message)
        raise
    return 201, {"changed": result.changed, "option_labels": list(result.option_labels),
                 "points_awarded": result.points_awarded}
