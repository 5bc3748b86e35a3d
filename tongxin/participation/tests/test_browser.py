"""Real browser (Debian's Chromium through Playwright, real HTTP): a resident scans the household code on
a phone, signs in with the SMS code, votes (the max-choices message first), sees the receipt and the live
results; a staff member reads the results page with the Art. 278 verdict. Screenshots under
var/screenshots/participation-*.png (looked at; copies in docs/guide/img/)."""

from __future__ import annotations

import re

import pytest

from tongxin.core.sms import LoggingSmsBackend
from tongxin.participation import services
from tongxin.participation.models import Participation
from tongxin.residents import services as rs
from tongxin.web.tests.conftest import screenshot

from .conftest import make_estate, open_topic, option_id, property_input, topic_input

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def phone(phone_page):
    return phone_page()


def _sms_code(number: str) -> str:
    for message in reversed(LoggingSmsBackend.outbox):
        if message.phone == number:
            match = re.search(r"验证码是 (\d{6})", message.text)
            assert match
            return match.group(1)
    raise AssertionError(f"no SMS to {number}")


def _sign_in(page, household, number: str) -> None:
    LoggingSmsBackend.outbox.clear()
    page.goto(f"{page.base_url}/r/{rs.code_token(household)}/")
    page.fill("#id_phone", number)
    page.click("#send-code")
    page.locator("#login-message").wait_for()
    page.fill("#id_code", _sms_code(number))
    page.click("#login")
    page.wait_for_url(f"{page.base_url}/r/home/")


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "the page must fit the phone"


def test_vote_from_a_phone(phone, world):
    estate = make_estate(world)
    topic = open_topic(world, topic_input(world, title="小区健身器材选址", choice_mode="multiple", max_choices=2,
                                          publication="live", allow_change=True,
                                          options=["东门广场", "3号楼北侧绿地", "幼儿园旁空地"]))
    services.topic_vote_cast(topic_id=topic.pk, resident=estate.owners[1], option_ids=[option_id(topic, "东门广场")])
    page = phone
    owner = estate.owners[0]
    _sign_in(page, estate.households[0], owner.phone)
    page.goto(f"{page.base_url}/r/topics/")
    assert "小区健身器材选址" in page.inner_text("#open-topics")
    _fits(page)
    screenshot(page, "participation-resident-list")
    page.click("#open-topics a")
    page.wait_for_url(re.compile(rf"/r/topics/{topic.pk}/$"))
    for label in ("东门广场", "3号楼北侧绿地", "幼儿园旁空地"):
        page.get_by_label(label).check()
    page.click("#cast")
    assert "本议题最多可选 2 项，您选了 3 项" in page.inner_text("#ballot-error")
    _fits(page)
    screenshot(page, "participation-resident-too-many")
    page.get_by_label("幼儿园旁空地").uncheck()
    page.click("#cast")
    page.locator("#vote-done").wait_for()
    assert "投票成功" in page.inner_text("#vote-done")
    assert "东门广场、3号楼北侧绿地" in page.inner_text("#receipt-choice")
    assert "已投 2 / 5" in page.inner_text("#results")
    _fits(page)
    screenshot(page, "participation-resident-voted")
    # Change before the close (this topic allows it).
    page.get_by_label("3号楼北侧绿地").uncheck()
    page.click("#cast")
    page.locator("#vote-done").wait_for()
    assert "已改票" in page.inner_text("#vote-done")
    assert Participation.objects.get(topic=topic, elector__household_id=owner.household_id).changes == 1


def test_secret_property_vote_from_a_phone(phone, world):
    estate = make_estate(world)
    topic = open_topic(world, property_input(estate, secret=True))
    page = phone
    _sign_in(page, estate.households[2], estate.owners[2].phone)
    page.goto(f"{page.base_url}/r/topics/{topic.pk}/")
    screenshot(page, "participation-resident-property")
    page.get_by_label("同意", exact=True).check()
    page.click("#cast")
    page.locator("#vote-done").wait_for()
    assert "不保存您选了什么" in page.inner_text("#vote-done")
    page.reload()  # post/redirect/get: a reload shows the receipt, it does not vote again
    assert "无记名投票，不保存选择" in page.inner_text("#receipt")
    assert page.locator("#ballot").count() == 0 and page.locator("#ballot-error").count() == 0
    from tongxin.core.models import AuditEvent
    assert not AuditEvent.objects.filter(event_type="vote_change_refused").exists()
    _fits(page)
    screenshot(page, "participation-resident-secret-receipt")


def test_staff_results_page(browser_page, login_as, world):
    estate = make_estate(world)
    topic = open_topic(world, property_input(estate, title="筹集电梯维修资金", matter="item6"))
    for i, stance in ((0, "approve"), (2, "approve"), (3, "approve"), (1, "reject")):
        services.topic_vote_cast(topic_id=topic.pk, resident=estate.owners[i], option_ids=[option_id(topic, stance)])
    services.topic_close(actor=world.user("grid_worker"), topic_id=topic.pk)
    page = browser_page
    login_as(page, "leader")
    page.goto(f"{page.base_url}/participation/")
    assert "筹集电梯维修资金" in page.inner_text("#topic-list")
    page.click("#topic-list a")
    page.wait_for_url(re.compile(rf"/participation/{topic.pk}/$"))
    assert "已投票 4 / 有资格 4，参与率 100.00%" in page.inner_text("#turnout")
    verdict = page.inner_text("#verdict")
    assert verdict.startswith("表决通过"), verdict  # 290.5 of 350.5 m² = 82.88%, 3 of 4 = 75%: exactly 3/4 passes
    assert "达到四分之三以上" in page.inner_text("#verdict-reasons")
    assert page.locator("#close-topic").count() == 0  # a leader reads only
    screenshot(page, "participation-staff-results")
    with page.expect_download() as download:
        page.click("#export")
    assert download.value.suggested_filename == f"topic-{topic.pk}-tally.xlsx"


def test_staff_creates_and_opens_a_topic(browser_page, login_as, world):
    make_estate(world)
    page = browser_page
    login_as(page, "grid_worker")
    page.goto(f"{page.base_url}/participation/new/")
    page.fill("#id_title", "楼道照明改造")
    page.fill("#id_body", "拟将楼道灯更换为声控节能灯。")
    page.select_option("#id_kind", "governance")
    page.select_option("#id_scope_kind", "grid")
    page.select_option("#id_area_id", str(world.grid_a.pk))
    page.fill("#id_options", "同意\n不同意")
    page.check("#id_secret")
    page.check("#id_allow_change")
    page.click("#save-topic")
    assert "无记名投票不允许改票" in page.inner_text("#row-allow_change")
    screenshot(page, "participation-staff-form-error")
    page.uncheck("#id_allow_change")
    page.click("#save-topic")
    page.wait_for_url(re.compile(r"/participation/\d+/$"))
    page.click("#open-topic")
    page.wait_for_url(re.compile(r"/participation/\d+/$"))
    assert "居民现在可以投票" in page.inner_text("main")
    assert "已投票 0 / 有资格 5" in page.inner_text("#turnout")
    screenshot(page, "participation-staff-opened")
