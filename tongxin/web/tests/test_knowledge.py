"""The knowledge base pages: centre roles search it, supervisors and admins edit it (audited, errors
beside the field with the typed text kept), everyone else gets 404; the intake console finds an edit
at once (the lookup cache is invalidated on commit)."""

from __future__ import annotations

import pytest

from tongxin.core.models import AuditEvent
from tongxin.workorders.lookups import knowledge_search
from tongxin.workorders.models import KnowledgeArticle

from .conftest import login

pytestmark = pytest.mark.django_db(transaction=True)


def test_who_may_read_and_who_may_edit(client, world):
    KnowledgeArticle.objects.create(question="供暖不热找谁？", answer="联系热力公司。")
    for username, read, edit in (("operator", 200, 404), ("dispatcher", 200, 404), ("supervisor", 200, 200),
                                 ("admin", 200, 200), ("handler", 404, 404), ("leader", 404, 404)):
        login(client, username)
        assert client.get("/workbench/knowledge/").status_code == read, username
        assert client.get("/workbench/knowledge/new/").status_code == edit, username
    login(client, "operator")
    html = client.get("/workbench/knowledge/", {"q": "供暖"}).content.decode()
    assert "供暖不热找谁" in html and "新增条目" not in html


def test_supervisor_creates_and_edits_an_article(client, world):
    login(client, "supervisor")
    bad = client.post("/workbench/knowledge/new/", {"question": "", "answer": "拨打热力公司电话", "keywords": "暖气"})
    assert bad.status_code == 422 and "问题不能为空" in bad.content.decode() and "拨打热力公司电话" in bad.content.decode()
    bad = client.post("/workbench/knowledge/new/", {"question": "暖气不热", "answer": "x", "category_code": "NOPE"})
    assert bad.status_code == 422 and "分类 NOPE 不存在" in bad.content.decode()
    assert KnowledgeArticle.objects.count() == 0
    ok = client.post("/workbench/knowledge/new/", {"question": "暖气不热找谁？", "answer": "请拨打热力公司电话。",
                                                   "keywords": "暖气,供热", "category_code": "C010101", "active": "1"})
    assert ok.status_code == 302
    article = KnowledgeArticle.objects.get()
    assert article.category.code == "C010101" and article.active
    assert knowledge_search("我家暖气不热")[0].id == article.pk
    response = client.post(f"/workbench/knowledge/{article.pk}/edit/", {"question": "暖气不热找谁？",
                                                                        "answer": "请拨打热力公司电话。"})
    assert response.status_code == 302
    article.refresh_from_db()
    assert not article.active  # unticked: switched off, never deleted
    assert knowledge_search("我家暖气不热") == []
    audits = AuditEvent.objects.filter(object_type="knowledge_article", object_id=str(article.pk))
    assert audits.count() == 2
    assert client.get("/workbench/knowledge/99999/edit/").status_code == 404
