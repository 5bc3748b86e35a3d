"""A case in a real browser (Chromium through Playwright against the live server): intake at a community
committee, immediate mediation, escalation to the town's governance centre, acceptance there, a session,
the agreement and a follow-up. Screenshots in var/screenshots/mediation-*.png."""

from __future__ import annotations

import pytest

from tongxin.mediation.models import DisputeCase
from tongxin.web.tests.conftest import screenshot

from .conftest import build_mediation_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _act(page, action, fields=None, select=None):
    box = page.locator(f"details[data-action={action}]")
    box.locator("summary").click()
    for name, value in (fields or {}).items():
        box.locator(f"[name={action}-{name}]").fill(value)
    for name, value in (select or {}).items():
        box.locator(f"select[name={action}-{name}]").select_option(value)
    box.locator("button[type=submit]").click()
    page.wait_for_load_state()


def test_intake_escalation_agreement_follow_up(browser_page, login_as, world):
    mw = build_mediation_world(world)
    page = browser_page
    login_as(page, "m_comm")
    assert "矛盾调解" in page.locator(".site-nav").inner_text()
    page.goto(f"{page.base_url}/mediation/new/")
    page.fill("[name=title]", "草牧场边界纠纷")
    page.select_option("[name=area_code]", world.community_a.code)
    page.select_option("[name=dispute_type]", "land_grassland")
    page.fill("[name=description]", "两户牧民因草场网围栏位置发生争执，涉及约 30 亩草场")
    page.fill("[name=amount]", "12000")
    page.check("[name=risk_group]")
    page.fill("[name=party0_name]", "巴特尔")
    page.fill("[name=party0_phone]", "13912345678")
    page.fill("[name=party1_name]", "其其格")
    screenshot(page, "mediation-intake")
    page.click("button[name=do][value=create]")
    page.wait_for_url("**/mediation/*/")
    case = DisputeCase.objects.get()
    assert "已受理案件" in page.content() and "139****5678" in page.content()
    _act(page, "mediate", {"note": "到场即知即调"})
    assert "调解中" in page.locator("h1").inner_text()
    _act(page, "escalate", {"reason": "涉及两个嘎查的草场界线，需苏木镇协调"}, {"to_org_id": str(mw.town.pk)})
    assert "移交待接收" in page.locator("h1").inner_text()
    screenshot(page, "mediation-escalated")

    login_as(page, "m_town")
    page.goto(f"{page.base_url}/mediation/{case.pk}/")
    _act(page, "accept_handover", {"note": "街道综治中心接收"})
    assert "甲街道综治中心" in page.locator("#facts").locator("..").inner_text()
    _act(page, "session", {"place": "甲街道矛调中心调解室", "attendees": "巴特尔、其其格、嘎查书记",
                           "notes": "现场踏勘后确定界桩位置"})
    _act(page, "agree", {"text": "以 2019 年确权图为准重新架设网围栏，费用双方各半"})
    assert "已达成协议" in page.locator("h1").inner_text()
    _act(page, "follow_up", {"note": "网围栏已重新架设，双方无异议"})
    assert "回访记录" in page.content() and "稳定" in page.content()
    timeline = page.locator(".timeline").inner_text()
    for label in ("受理", "即知即调", "上报上一级", "接收移交", "调解", "达成调解协议", "回访"):
        assert label in timeline
    page.get_by_role("button", name="查看完整信息（留痕）").first.click()
    page.wait_for_load_state()
    assert "13912345678" in page.locator("#parties-h").locator("..").inner_text()
    screenshot(page, "mediation-case")
    case.refresh_from_db()
    assert case.status == "agreed" and case.owner_org == mw.town and case.follow_ups.count() == 1

    page.goto(f"{page.base_url}/mediation/numbers/")
    assert "不出村" in page.content()
    screenshot(page, "mediation-numbers")
