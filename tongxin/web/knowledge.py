"""The knowledge base pages (知识库): every centre role searches it; supervisors and admins edit it."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tongxin.accounts.selectors import actor_scope
from tongxin.core.errors import ApplicationError, ValidationFailed
from tongxin.workorders.knowledge import knowledge_article_save, knowledge_can_edit
from tongxin.workorders.models import KnowledgeArticle

from .intake import INTAKE_PAGE_ROLES


def _require_reader(request: HttpRequest) -> None:
    if not actor_scope(request.user).roles & INTAKE_PAGE_ROLES:
        raise Http404(_("未找到该页面"))


@login_required
def knowledge_list(request: HttpRequest) -> HttpResponse:
    _require_reader(request)
    q = request.GET.get("q", "").strip()[:50]
    articles = KnowledgeArticle.objects.select_related("category").order_by("-active", "question")
    if q:
        articles = articles.filter(Q(question__icontains=q) | Q(answer__icontains=q) | Q(keywords__icontains=q))
    page = Paginator(articles, 30).get_page(request.GET.get("page"))
    return render(request, "web/knowledge/list.html", {
        "nav": "knowledge", "page_obj": page, "q": q, "can_edit": knowledge_can_edit(request.user)})


@login_required
@require_http_methods(["GET", "POST"])
def knowledge_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _require_reader(request)
    if not knowledge_can_edit(request.user):
        raise Http404(_("未找到该页面"))
    article = KnowledgeArticle.objects.select_related("category").filter(pk=pk).first() if pk else None
    if pk and article is None:
        raise Http404(_("未找到该条目"))
    values: dict[str, Any] = {
        "question": article.question if article else "", "answer": article.answer if article else "",
        "keywords": article.keywords if article else "",
        "category_code": article.category.code if article and article.category else "",
        "active": article.active if article else True,
    }
    errors: dict[str, str] = {}
    form_error = ""
    if request.method == "POST":
        values = {name: request.POST.get(name, "")[:6000] for name in ("question", "answer", "keywords", "category_code")}
        values["active"] = bool(request.POST.get("active"))
        try:
            saved = knowledge_article_save(actor=request.user, article_id=pk, **values)
        except ValidationFailed as exc:
            errors, form_error = {k: str(v) for k, v in exc.fields.items()}, exc.message
        except ApplicationError as exc:
            form_error = exc.message
        else:
            messages.success(request, _("已保存：%(q)s") % {"q": saved.question})
            return redirect("knowledge_list")
    return render(request, "web/knowledge/edit.html", {
        "nav": "knowledge", "article": article, "values": values, "errors": errors, "form_error": form_error,
    }, status=422 if form_error else 200)
