"""The Ordos demo's mediation network and a year of dispute cases, driven through the mediation services.

Organisations: the city centre (市矛盾纠纷调处化解中心), a governance centre per banner/district and per
town (苏木乡镇/街道), a people's mediation committee in the first community of every town, and the
professional committees (city-wide medical, traffic, labour, property, marriage and family; 草牧场 in
each banner; 地企 in the coal banners). Every organisation has mediators (Mongolian speakers in the
pastoral sumu and the banners); the printed logins are ``mediator`` (the first town of 乌审旗, where
三分吸附法 began) and ``mediator_city`` (the city centre).

Cases (``DEMO_CASES``, ~150 over the past year) follow realistic paths with a fixed random seed: most are
settled where they arise, some are escalated one level at a time or routed to a professional committee,
hard ones get a case leader and joint meetings, a few fail and are guided to litigation, arbitration or
petition; agreements are followed up every 15 days and closed as stable, a few follow-ups are left
overdue. A few open 12345 orders that are disputes are converted at the real time. Idempotent: no case is
added once any exists.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from tongxin.accounts.choices import Role
from tongxin.accounts.models import User
from tongxin.mediation import services as ms
from tongxin.mediation.choices import (
    LEVEL_DEPTH,
    DisputeType,
    Language,
    Level,
    MediatorGrade,
    OrgKind,
    Status,
)
from tongxin.mediation.models import DisputeCase, MediationOrg
from tongxin.regions.models import Area

from .clock import seed_clock
from .content import MONGOLIAN_NAMES, demo_phone, person_name
from .organisation import _grant, demo_user_ensure

DEMO_CASES = 150
MEDIATOR_TOWN_DISTRICT = "150626"  # 乌审旗
PASTORAL = {"150623", "150624", "150625", "150626"}  # banners where Mongolian is a working language everywhere
COAL = {"150622", "150626", "150627"}

CASES: dict[str, list[tuple[str, str]]] = {
    DisputeType.NEIGHBOURHOOD: [
        ("楼上漏水致楼下受损纠纷", "楼上住户卫生间漏水，楼下顶棚和墙面受损，双方就赔偿数额协商不成"),
        ("邻里通道占用纠纷", "一方在公共通道堆放杂物并搭建棚子，另一方出行受阻，多次争吵"),
        ("宅基地界墙纠纷", "两户翻建院墙时对界线位置有争议，发生口角"),
    ],
    DisputeType.MARRIAGE_FAMILY: [
        ("赡养老人纠纷", "老人有三个子女，对赡养费分担和轮流照顾安排意见不一"),
        ("离婚后子女探望纠纷", "离婚后抚养方拒绝另一方按约定探望孩子"),
        ("家庭财产分割纠纷", "兄弟之间对父母遗留房屋的分配存在争议"),
    ],
    DisputeType.LAND_GRASSLAND: [
        ("草牧场边界纠纷", "两户牧民因草场网围栏位置发生争执，涉及约 30 亩草场"),
        ("草场流转合同纠纷", "草场承包方提前解除流转合同，转出方要求支付剩余租金"),
        ("耕地承包界线纠纷", "相邻两户对承包地界桩位置有争议，影响春播"),
    ],
    DisputeType.ENTERPRISE_COMMUNITY: [
        ("煤矿运输道路扬尘纠纷", "矿区运煤车辆经过嘎查道路，扬尘和道路损坏引发村民不满"),
        ("地企占地补偿纠纷", "企业临时占用草场施工，牧民对补偿标准有异议"),
    ],
    DisputeType.LABOUR: [
        ("农民工工资拖欠纠纷", "建筑工地 12 名工人反映被拖欠 3 个月工资"),
        ("工伤待遇纠纷", "工人在车间受伤，与企业就停工留薪期待遇协商未果"),
    ],
    DisputeType.MEDICAL: [("医疗损害赔偿纠纷", "患者家属认为术后护理不当导致并发症，要求医院赔偿")],
    DisputeType.TRAFFIC: [("交通事故损害赔偿纠纷", "两车刮擦致一人轻伤，双方就医疗费和误工费分担有争议")],
    DisputeType.PROPERTY: [
        ("物业费收缴纠纷", "业主以小区电梯长期故障为由拒交物业费"),
        ("小区停车位纠纷", "业主与物业公司就地下车位租金上涨发生争执"),
    ],
    DisputeType.CONTRACT: [("民间借贷纠纷", "借款到期后借款人以经营困难为由拒不归还 5 万元")],
}
PROFESSIONAL_TYPES = {DisputeType.MEDICAL, DisputeType.TRAFFIC, DisputeType.LABOUR, DisputeType.PROPERTY}


def _first_by_code(areas: list[Area]) -> Area:
    return sorted(areas, key=lambda a: a.code)[0]


class _Network:
    def __init__(self, places: Any, rng: random.Random) -> None:
        self.places, self.rng = places, rng
        self.city: MediationOrg | None = None
        self.districts: dict[str, MediationOrg] = {}
        self.towns: dict[str, MediationOrg] = {}
        self.committees: dict[int, MediationOrg] = {}  # community area id → committee
        self.professional: dict[tuple[str, str], MediationOrg] = {}  # (type, district code or "city") → org
        self.users: dict[int, User] = {}  # org id → a mediator's user
        self.leaders: dict[str, User] = {}  # district code → a leader

    def mediator(self, org: MediationOrg, username: str, *, mongolian: bool, expert: bool = False,
                 specialities: list[str] | None = None, display: str | None = None) -> User:
        name = display or (self.rng.choice(MONGOLIAN_NAMES) if mongolian else person_name(self.rng))
        user = demo_user_ensure(username=username, display_name=f"调解员 {name}")
        languages: list[str] = [Language.MONGOLIAN, Language.CHINESE] if mongolian else [Language.CHINESE]
        ms.mediator_ensure(org=org, user=user, name=name, languages=languages, is_expert=expert,
                           grade=MediatorGrade.SENIOR if expert else MediatorGrade.REGULAR,
                           specialities=specialities or list(org.specialities), phone=demo_phone(self.rng))
        self.users.setdefault(org.pk, user)
        return user


def _seed_network(places: Any, rng: random.Random) -> _Network:
    net = _Network(places, rng)
    city = places.city
    net.city = ms.org_ensure(code="MD-150600", name="鄂尔多斯市矛盾纠纷调处化解中心", kind=OrgKind.CITY_CENTRE, area=city,
                             address="康巴什区市民中心", phone="0477-8588000")
    net.mediator(net.city, "mediator_city", mongolian=True, expert=True, display="斯琴")
    net.mediator(net.city, "mediator_city02", mongolian=False, expert=True)
    for kind, label in ((DisputeType.MEDICAL, "医疗纠纷人民调解委员会"), (DisputeType.TRAFFIC, "道路交通事故纠纷人民调解委员会"),
                        (DisputeType.LABOUR, "劳动人事争议调解中心"), (DisputeType.PROPERTY, "物业纠纷人民调解委员会"),
                        (DisputeType.MARRIAGE_FAMILY, "婚姻家庭纠纷人民调解委员会")):
        org = ms.org_ensure(code=f"MD-150600-{kind}", name=f"鄂尔多斯市{label}", kind=OrgKind.PROFESSIONAL, area=city,
                            specialities=[kind])
        net.professional[(kind, "city")] = org
        net.mediator(org, f"mediator_city_{kind}", mongolian=False, expert=True, specialities=[kind])
    leader_rng = random.Random(7)
    for code, district in sorted(places.districts.items()):
        org = ms.org_ensure(code=f"MD-{code}", name=f"{district.name}社会治理综合服务中心", kind=OrgKind.GOVERNANCE_CENTRE,
                            area=district)
        net.districts[code] = org
        net.mediator(org, f"mediator_{code}", mongolian=code in PASTORAL)
        leader = User.objects.filter(role_assignments__role=Role.LEADER, role_assignments__area=district).first()
        if leader is None:
            leader = demo_user_ensure(username=f"leader_md_{code}", display_name=f"{district.name}包案领导 "
                                      + person_name(leader_rng))
            _grant(leader, Role.LEADER, area=district)
        net.leaders[code] = leader
        if code in PASTORAL or code in {"150621", "150622", "150627"}:
            grass = ms.org_ensure(code=f"MD-{code}-grass", name=f"{district.name}草牧场纠纷人民调解委员会",
                                  kind=OrgKind.PROFESSIONAL, area=district, specialities=[DisputeType.LAND_GRASSLAND])
            net.professional[(DisputeType.LAND_GRASSLAND, code)] = grass
            net.mediator(grass, f"mediator_{code}_grass", mongolian=True, expert=True,
                         specialities=[DisputeType.LAND_GRASSLAND])
        if code in COAL:
            enterprise = ms.org_ensure(code=f"MD-{code}-ent", name=f"{district.name}地企矛盾纠纷调解委员会",
                                       kind=OrgKind.PROFESSIONAL, area=district,
                                       specialities=[DisputeType.ENTERPRISE_COMMUNITY])
            net.professional[(DisputeType.ENTERPRISE_COMMUNITY, code)] = enterprise
            net.mediator(enterprise, f"mediator_{code}_ent", mongolian=code == "150626", expert=True,
                         specialities=[DisputeType.ENTERPRISE_COMMUNITY])
    communities_by_town: dict[int, list[Area]] = {}
    for community in places.communities:
        communities_by_town.setdefault(community.parent_id, []).append(community)
    wushen_first = _first_by_code([t for c, t in places.towns.items() if c.startswith(MEDIATOR_TOWN_DISTRICT)])
    for code, town in sorted(places.towns.items()):
        org = ms.org_ensure(code=f"MD-{code}", name=f"{town.name}综治中心（矛调中心）", kind=OrgKind.GOVERNANCE_CENTRE,
                            area=town)
        net.towns[code] = org
        mongolian = town.name.endswith("苏木") or code[:6] in PASTORAL
        if town.pk == wushen_first.pk:
            net.mediator(org, "mediator", mongolian=True, display="乌日娜")
        else:
            net.mediator(org, f"mediator_{code}", mongolian=mongolian)
        communities = communities_by_town.get(town.pk, [])
        if communities:
            community = _first_by_code(communities)
            committee = ms.org_ensure(code=f"MD-{community.code}", name=f"{community.name}人民调解委员会",
                                      kind=OrgKind.COMMITTEE, area=community)
            net.committees[community.pk] = committee
            net.mediator(committee, f"mediator_{community.code}", mongolian=mongolian)
    return net


# --- the cases ----------------------------------------------------------------------------------

class _Driver:
    """Plays one case through the services, moving the seed clock forward before each step."""

    def __init__(self, net: _Network, clock: Any, rng: random.Random) -> None:
        self.net, self.clock, self.rng = net, clock, rng
        self.real_now = clock.real_now
        self.made = 0

    def at(self, moment: datetime) -> bool:
        if moment >= self.real_now - timedelta(minutes=1):
            return False
        self.clock.set(moment)
        return True

    def user(self, org: MediationOrg) -> User:
        return self.net.users[org.pk]

    def up(self, case: DisputeCase, target: MediationOrg, t: datetime, reason: str) -> tuple[DisputeCase, datetime]:
        owner = case.owner_org
        if not self.at(t):
            return case, t
        ms.case_escalate(case_id=case.pk, actor=self.user(owner), to_org_id=target.pk, reason=reason)
        t += timedelta(hours=self.rng.randint(2, 30))
        if not self.at(t):
            return DisputeCase.objects.get(pk=case.pk), t
        case = ms.case_handover_accept(case_id=case.pk, actor=self.user(target), note="已接收，首接首办责任转移")
        return case, t

    def play(self, *, org: MediationOrg, area: Area, start: datetime, kind: str, path: list[str], outcome: str,
             source: str = "walk_in") -> None:
        rng = self.rng
        title, description = rng.choice(CASES[kind])
        self.at(start)
        parties = [{"name": person_name(rng), "phone": demo_phone(rng)},
                   {"name": person_name(rng), "side": "respondent", "phone": demo_phone(rng)}]
        if kind in {DisputeType.ENTERPRISE_COMMUNITY, DisputeType.PROPERTY, DisputeType.LABOUR}:
            parties[1] = {"name": rng.choice(["鄂尔多斯某能源有限公司", "某物业服务有限公司", "某建筑工程有限公司"]),
                          "kind": "organisation", "side": "respondent"}
        amount = rng.choice([None, 800, 3000, 12000, 50000, 180000]) if kind != DisputeType.MARRIAGE_FAMILY else None
        people = rng.choice([2, 2, 2, 3, 5]) if kind != DisputeType.LABOUR else rng.choice([5, 12, 30])
        case = ms.case_create(
            actor=self.user(org), org_id=org.pk, title=title, description=description, dispute_type=kind, source=source,
            parties=parties, area_code=area.code, amount=amount, people_count=people,
            risk_group=people >= 12, risk_violence=rng.random() < 0.05, risk_petition=rng.random() < 0.08,
        )
        self.made += 1
        t = start + timedelta(minutes=rng.randint(10, 120))
        if not self.at(t):
            return
        ms.case_mediate(case_id=case.pk, actor=self.user(org), note="即知即调，当日介入")
        for step in path:
            t += timedelta(hours=rng.randint(6, 72))
            owner = DisputeCase.objects.select_related("owner_org").get(pk=case.pk).owner_org
            if step == "route":
                depth = LEVEL_DEPTH[Level(owner.level)]
                target = None
                for candidate in (self.net.professional.get((kind, case.area.code[:6])),
                                  self.net.professional.get((kind, "city"))):
                    if candidate is not None and LEVEL_DEPTH[Level(candidate.level)] in (depth, depth - 1):
                        target = candidate
                        break
                if target is None or not self.at(t):
                    continue
                if target.level == owner.level:
                    ms.case_route(case_id=case.pk, actor=self.user(owner), to_org_id=target.pk,
                                  reason="分流分调：交由专业调解组织")
                else:  # a professional committee one level up: that is an escalation, one level only
                    ms.case_escalate(case_id=case.pk, actor=self.user(owner), to_org_id=target.pk,
                                     reason="分流至上一级专业调解组织")
                t += timedelta(hours=rng.randint(2, 24))
                if self.at(t):
                    case = ms.case_handover_accept(case_id=case.pk, actor=self.user(target))
            elif step == "up":
                target = self._parent_centre(owner, case)
                if target is not None:
                    case, t = self.up(case, target, t, rng.choice(["涉及多方主体，本级难以协调", "当事人情绪激烈，需上级介入",
                                                                   "涉及政策解释，需上级协调相关部门"]))
            elif step == "joint":
                if not self.at(t):
                    return
                leader = self.net.leaders[case.area.code[:6]]  # the banner's leader covers the case's place
                ms.case_joint_start(case_id=case.pk, actor=self.user(owner), leader_id=leader.pk, note="疑难案件，联管联调")
                t += timedelta(days=rng.randint(1, 4))
                if self.at(t):
                    ms.case_session_record(case_id=case.pk, actor=self.user(owner), kind="joint_meeting",
                                           place=f"{owner.name}会议室", attendees="包案领导、司法所、派出所、相关部门",
                                           notes="议定：分头做当事人工作，三日内拿出方案")
                t += timedelta(days=rng.randint(1, 3))
                if self.at(t):
                    ms.case_session_record(case_id=case.pk, actor=self.user(owner), kind="joint_visit",
                                           place="当事人家中", attendees="包案领导、调解员", notes="联合下访，听取诉求")
        t += timedelta(hours=rng.randint(4, 96))
        if not self.at(t):
            return
        owner = DisputeCase.objects.select_related("owner_org").get(pk=case.pk).owner_org
        ms.case_session_record(case_id=case.pk, actor=self.user(owner), place=f"{owner.name}调解室",
                               attendees="双方当事人", notes=rng.choice(["释法说理，背靠背调解", "现场勘查，面对面调解",
                                                                    "请法律顾问解答，双方意见趋近"]))
        t += timedelta(hours=rng.randint(2, 72))
        if outcome == "open" or not self.at(t):
            return
        if outcome.startswith("fail:"):
            ms.case_fail(case_id=case.pk, actor=self.user(owner), guidance=outcome[5:],
                         note="双方分歧较大，调解不成，已告知依法维权途径")
            return
        ms.case_agree(case_id=case.pk, actor=self.user(owner), text="双方自愿达成如下协议：" + rng.choice(
            ["一次性赔偿并恢复原状", "分三期支付款项", "重新确定界线并共同维护", "按约定时间探望，互不干扰"]))
        if case.amount and case.amount >= 12000 and rng.random() < 0.5 and self.at(t + timedelta(days=5)):
            ms.case_confirm(case_id=case.pk, actor=self.user(owner), court=f"{case.area.name[:2]}人民法院",
                            number=f"（{t.year}）蒙0{rng.randint(602, 627)}民特{rng.randint(1, 400)}号")
        due = t + timedelta(days=15)
        for visit in range(rng.choice([1, 1, 2])):
            visit_at = due + timedelta(hours=rng.randint(-20, 30)) + timedelta(days=15 * visit)
            if rng.random() < 0.04 or not self.at(visit_at):  # a few follow-ups are simply missed: overdue
                return
            ms.case_follow_up(case_id=case.pk, actor=self.user(owner), note="协议已履行，双方关系稳定")
        if self.at(visit_at + timedelta(hours=2)):
            ms.case_close(case_id=case.pk, actor=self.user(owner), note="回访稳定，结案")

    def _parent_centre(self, owner: MediationOrg, case: DisputeCase) -> MediationOrg | None:
        code = case.area.code
        if owner.level == "community":
            return self.net.towns.get(code[:9])
        if owner.level == "town":
            return self.net.districts.get(code[:6])
        if owner.level == "district":
            return self.net.city
        return None


def _plan(rng: random.Random) -> tuple[str, list[str], str]:
    """(receiving level, path, outcome) in realistic shares."""
    roll = rng.random()
    if roll < 0.62:
        level = "community"
    elif roll < 0.88:
        level = "town"
    elif roll < 0.97:
        level = "district"
    else:
        level = "city"
    paths = [([], 0.92), (["up"], 0.05), (["up", "joint"], 0.02), (["up", "up"], 0.01)] if level == "community" else \
        [([], 0.8), (["route"], 0.1), (["up"], 0.05), (["joint"], 0.05)]
    pick, acc = rng.random(), 0.0
    path: list[str] = []
    for candidate, share in paths:
        acc += share
        if pick < acc:
            path = candidate
            break
    outcome_roll = rng.random()
    outcome = "agree"
    if outcome_roll > 0.985:
        outcome = "fail:petition"
    elif outcome_roll > 0.965:
        outcome = "fail:litigation"
    elif outcome_roll > 0.95:
        outcome = "fail:arbitration"
    return level, path, outcome


def seed_mediation(places: Any, org: Any = None, *, log: Any = None, cases: int = DEMO_CASES) -> dict[str, int]:
    rng = random.Random(20260301)
    net = _seed_network(places, rng)
    say = log or (lambda _m: None)
    orgs = MediationOrg.objects.count()
    if DisputeCase.objects.exists():
        say(f"调解组织：{orgs} 个；已有调解案件，不再生成")
        return {"orgs": orgs, "cases": 0}
    committees = list(net.committees.items())
    wushen_towns = [code for code in sorted(net.towns) if code.startswith(MEDIATOR_TOWN_DISTRICT)]
    types_weighted = ([DisputeType.NEIGHBOURHOOD] * 5 + [DisputeType.MARRIAGE_FAMILY] * 3 + [DisputeType.LAND_GRASSLAND] * 3
                      + [DisputeType.PROPERTY] * 2 + [DisputeType.LABOUR] * 2 + [DisputeType.CONTRACT] * 2
                      + [DisputeType.ENTERPRISE_COMMUNITY, DisputeType.TRAFFIC, DisputeType.MEDICAL])
    with seed_clock() as clock:
        driver = _Driver(net, clock, rng)
        real_now = clock.real_now
        for i in range(cases):
            level, path, outcome = _plan(rng)
            start = real_now - timedelta(days=rng.uniform(2, 360), hours=rng.uniform(0, 12))
            if (real_now - start).days < 10 and outcome == "agree" and rng.random() < 0.5:
                outcome = "open"
            kind = rng.choice(types_weighted)
            if kind in PROFESSIONAL_TYPES and level in {"town", "district"} and not path:
                path = ["route"] if level == "district" else []
            # Every fifth case in 乌审旗, so the printed town mediator has a caseload.
            if i % 5 == 0:
                town_code = rng.choice(wushen_towns[:1] * 3 + wushen_towns)
                community_ids = [cid for cid, c in committees if c.area.code.startswith(town_code)]
                if level == "community" and community_ids:
                    org_ = net.committees[community_ids[0]]
                    area = org_.area
                else:
                    org_, area = net.towns[town_code], net.towns[town_code].area
            elif level == "community":
                _cid, org_ = rng.choice(committees)
                area = org_.area
            elif level == "town":
                org_ = net.towns[rng.choice(sorted(net.towns))]
                area = org_.area
            elif level == "district":
                org_ = net.districts[rng.choice(sorted(net.districts))]
                area = org_.area
                path = [p for p in path if p != "joint"]
            else:
                assert net.city is not None  # the network's centre is built before any case
                org_ = net.city
                area = net.districts[rng.choice(sorted(net.districts))].area
                path = [p for p in path if p not in {"up", "route"}]
            source = rng.choice(["walk_in", "walk_in", "grid", "grid", "hotline", "court", "petition"]) \
                if level != "community" else rng.choice(["walk_in", "walk_in", "grid"])
            driver.play(org=org_, area=area, start=start, kind=kind, path=path, outcome=outcome, source=source)
        _pending_for_printed_mediator(net, driver, real_now)
    converted = _convert_open_orders(net, org)
    staff = getattr(org, "staff", None)
    if staff is not None:
        mediator_town = MediationOrg.objects.filter(mediators__user__username="mediator").first()
        staff.logins += [("mediator", "调解员", mediator_town.name if mediator_town else ""),
                         ("mediator_city", "调解员", net.city.name if net.city else "")]
    statuses: dict[str, int] = {}
    for status in DisputeCase.objects.values_list("status", flat=True):
        statuses[status] = statuses.get(status, 0) + 1
    say(f"调解组织：{orgs} 个；调解案件：{driver.made + converted} 件（其中由 12345 工单转入 {converted} 件）；"
        + "，".join(f"{Status(k).label} {v}" for k, v in sorted(statuses.items())))
    return {"orgs": orgs, "cases": driver.made + converted}


def _pending_for_printed_mediator(net: _Network, driver: _Driver, real_now: datetime) -> None:
    """Yesterday a committee in the printed mediator's town escalated a case: it waits for them to accept."""
    town = MediationOrg.objects.filter(mediators__user__username="mediator").first()
    committee = next((c for c in net.committees.values() if c.area.parent_id == (town.area_id if town else None)), None)
    if town is None or committee is None:
        return
    start = real_now - timedelta(days=1, hours=3)
    driver.play(org=committee, area=committee.area, start=start, kind=DisputeType.LAND_GRASSLAND, path=[], outcome="open")
    case = DisputeCase.objects.filter(received_org=committee).order_by("-id").first()
    driver.at(start + timedelta(hours=20))
    if case is not None and case.status == Status.MEDIATING:
        ms.case_escalate(case_id=case.pk, actor=net.users[committee.pk], to_org_id=town.pk,
                         reason="涉及两个嘎查的草场界线，需苏木镇统筹协调")


def _convert_open_orders(net: _Network, org: Any) -> int:
    """A few open 12345 complaints turn out to be disputes: the city dispatcher converts them, at the real
    time (after the seed clock is gone, so the orders' comments come after their other events)."""
    from tongxin.workorders.choices import Status as OrderStatus
    from tongxin.workorders.models import WorkOrder

    dispatcher = None
    if org is not None and getattr(org, "staff", None) is not None and org.staff.dispatchers:
        dispatcher = org.staff.dispatchers[0]
    if dispatcher is None:
        return 0
    converted = 0
    orders = (WorkOrder.objects.filter(status__in=[OrderStatus.ACCEPTED, OrderStatus.DISPATCHED, OrderStatus.IN_PROGRESS],
                                       kind="complaint").select_related("area").order_by("-accepted_at")[:40])
    for order in orders:
        town = net.towns.get(order.area.code[:9]) if len(order.area.code) >= 9 else None
        if town is None:
            continue
        ms.case_from_work_order(actor=dispatcher, order_id=order.pk, org_id=town.pk,
                                dispute_type=DisputeType.NEIGHBOURHOOD, note="经研判属邻里矛盾纠纷，转矛调中心")
        converted += 1
        if converted >= 3:
            break
    return converted
