"""The demo's organisations and people: departments, staff with roles, the category tree, the dispatch
catalogue and the knowledge base.

Departments, users and knowledge articles have no service of their own yet (they are edited in the
admin), so the three small ``*_ensure`` functions below write them; everything else goes through the
domain services (role_grant, category import, dispatch_rule_create, sla_default_policy_ensure).
Department names follow the real pattern of Ordos bodies; the people are invented.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import transaction

from tongxin.accounts.choices import DepartmentKind, Role
from tongxin.accounts.models import Department, RoleAssignment, User
from tongxin.accounts.services import role_grant
from tongxin.regions.models import Area
from tongxin.workorders.catalogue import categories_import_taxonomy, category_upsert, dispatch_rule_create
from tongxin.workorders.models import Category, DispatchRule, KnowledgeArticle
from tongxin.workorders.sla import sla_default_policy_ensure

from .content import person_name
from .places import CITY_NAME, DISTRICTS, Places

TAXONOMY_FILE = Path(__file__).resolve().parent.parent / "workorders" / "data" / "taxonomy.csv"
DEMO_PASSWORD = "tongxin-demo"  # noqa: S105 - documented demo password (docs/demo.md), never for production

# key → (city-level name, district-level name pattern or None, kind)
BUREAUS: dict[str, tuple[str, str | None, str]] = {
    "ZJ": ("住房和城乡建设局", "{d}住房和城乡建设局", DepartmentKind.DEPARTMENT),
    "CG": ("城市管理综合执法局", "{d}城市管理综合执法局", DepartmentKind.DEPARTMENT),
    "HB": ("生态环境局", "鄂尔多斯市生态环境局{d}分局", DepartmentKind.DEPARTMENT),
    "JT": ("交通运输局", "{d}交通运输局", DepartmentKind.DEPARTMENT),
    "JY": ("教育体育局", "{d}教育体育局", DepartmentKind.DEPARTMENT),
    "WJ": ("卫生健康委员会", "{d}卫生健康委员会", DepartmentKind.DEPARTMENT),
    "RS": ("人力资源和社会保障局", "{d}人力资源和社会保障局", DepartmentKind.DEPARTMENT),
    "SJ": ("市场监督管理局", "{d}市场监督管理局", DepartmentKind.DEPARTMENT),
    "GA": ("公安局", "鄂尔多斯市公安局{d}分局", DepartmentKind.DEPARTMENT),
    "ZR": ("自然资源局", "鄂尔多斯市自然资源局{d}分局", DepartmentKind.DEPARTMENT),
    "MZ": ("民政局", "{d}民政局", DepartmentKind.DEPARTMENT),
    "NM": ("农牧局", "{d}农牧局", DepartmentKind.DEPARTMENT),
    "FG": ("发展和改革委员会", None, DepartmentKind.DEPARTMENT),
    "GX": ("工业和信息化局", None, DepartmentKind.DEPARTMENT),
    "ZF": ("人民政府办公室", None, DepartmentKind.DEPARTMENT),
    "JW": ("纪委监委信访室", None, DepartmentKind.DEPARTMENT),
    "SW": ("水务公司", None, DepartmentKind.ENTERPRISE),
    "GD": ("供电公司", None, DepartmentKind.ENTERPRISE),
    "RQ": ("燃气公司", None, DepartmentKind.ENTERPRISE),
    "RL": ("热力公司", None, DepartmentKind.ENTERPRISE),
}
# Level-1 category → (lead bureau, co-handling bureaus). District bureaus where they exist, else the city's.
LEVEL1_RULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "城乡建设": ("ZJ", ("CG",)),
    "环境保护": ("HB", ()),
    "交通运输": ("JT", ()),
    "教育文体": ("JY", ()),
    "卫生计生": ("WJ", ()),
    "劳动和社会保障": ("RS", ()),
    "商贸旅游": ("SJ", ()),
    "政法": ("GA", ()),
    "国土资源": ("ZR", ()),
    "民政": ("MZ", ()),
    "农村农业": ("NM", ()),
    "经济管理": ("FG", ()),
    "科技与信息产业": ("GX", ()),
    "纪检监察": ("JW", ()),
    "党务政务": ("ZF", ()),
}
# More specific lines: a level-2 or level-3 category → a bureau, city-wide or per district.
SPECIFIC_RULES: list[tuple[tuple[str, ...], str, bool]] = [
    (("城乡建设", "城市建设和市政管理", "冬季采暖"), "RL", False),
    (("城乡建设", "城市建设和市政管理", "燃气供应"), "RQ", False),
    (("城乡建设", "城市建设和市政管理", "电力供应"), "GD", False),
    (("城乡建设", "城市建设和市政管理", "自来水供应"), "SW", False),
    (("城乡建设", "城市建设和市政管理"), "CG", True),
    (("城乡建设", "住房保障与房地产"), "ZJ", True),
]
# Categories the town government (苏木乡镇/街道) leads, town by town.
TOWN_RULES: list[tuple[str, ...]] = [
    ("农村农业", "村务管理"),
    ("农村农业", "土地承包经营"),
    ("民政", "基层选举和社区建设"),
    ("城乡建设", "村镇建设"),
]

KNOWLEDGE: list[tuple[tuple[str, ...], str, str, str]] = [
    (("城乡建设", "城市建设和市政管理", "冬季采暖"), "鄂尔多斯市的供暖期是什么时候？",
     "市区集中供暖期一般为每年10月15日至次年4月15日，遇气温异常会提前或延长，以当年供热主管部门的通知为准。"
     "室温标准为不低于18℃。", "供暖期 暖气 开始 结束"),
    (("城乡建设", "城市建设和市政管理", "冬季采暖"), "暖气不热应该先找谁？",
     "请先联系小区物业或供热企业客服报修，供热企业应在接报后24小时内上门；若超过时限仍未处理，可再拨打12345反映。",
     "暖气不热 报修"),
    (("城乡建设", "城市建设和市政管理", "冬季采暖"), "供暖费怎么缴纳？",
     "可通过供热企业营业厅、官方微信公众号或合作银行缴纳，缴费时需提供供热卡号或房屋地址。", "供暖费 缴费"),
    (("城乡建设", "城市建设和市政管理", "自来水供应"), "停水了怎么查询恢复时间？",
     "计划停水会提前在小区公告栏和供水企业公众号公布；突发停水可拨打供水企业服务电话查询抢修进度。", "停水 供水 恢复"),
    (("城乡建设", "城市建设和市政管理", "燃气供应"), "家里闻到燃气味怎么办？",
     "请立即关闭燃气总阀，打开门窗通风，不要开关电器、不要使用明火和手机，到室外安全地点拨打燃气企业抢修电话或119。",
     "燃气 漏气 泄漏"),
    (("城乡建设", "住房保障与房地产", "住房公积金"), "住房公积金提取需要哪些材料？",
     "购房、租房、退休等情形可申请提取，一般需本人身份证、银行卡及相应证明材料，多数业务可在线上办理，"
     "具体以住房公积金中心公布的办事指南为准。", "公积金 提取"),
    (("城乡建设", "住房保障与房地产", "房产证登记、办理"), "二手房过户去哪里办理？",
     "二手房转移登记在不动产登记中心办理，买卖双方携带身份证、不动产权证书、网签合同等材料，缴税后领证。",
     "过户 不动产登记 二手房"),
    (("劳动和社会保障", "城镇职工社会保险", "职工养老保险"), "灵活就业人员怎么缴纳养老保险？",
     "持身份证到户籍地或居住地社保经办机构登记，也可通过当地人社公众号或掌上办事平台登记并按月或按年缴费。",
     "灵活就业 养老保险 缴费"),
    (("劳动和社会保障", "退休政策及待遇", "退休金发放"), "养老金资格认证怎么办理？",
     "退休人员每年需进行一次待遇领取资格认证，可通过手机人脸识别自助认证；行动不便的可申请社区工作人员上门认证。",
     "资格认证 养老金"),
    (("劳动和社会保障", "工资福利", "工资发放"), "被拖欠工资怎么维权？",
     "可向用工所在地的劳动保障监察机构投诉，或申请劳动仲裁；农民工欠薪也可拨打12345反映，请保留劳动合同、考勤、"
     "工资记录等证据。", "欠薪 拖欠工资 维权"),
    (("政法", "户籍证件", "户籍管理"), "新生儿怎么办理落户？",
     "持出生医学证明、父母双方身份证和户口簿、结婚证到户籍所在地派出所办理，部分地区支持线上“出生一件事”联办。",
     "新生儿 落户 户口"),
    (("政法", "户籍证件", "身份证管理"), "身份证丢了能在外地补办吗？",
     "可以。居民身份证已实现全国异地受理，可到就近的公安机关户政窗口申请补领，需现场采集照片和指纹。",
     "身份证 补办 异地"),
    (("民政", "社会救助", "城镇低保"), "申请低保需要什么条件？",
     "家庭人均收入低于当地低保标准且家庭财产符合规定的，可向户籍所在地苏木乡镇（街道）或社区提出申请，"
     "需提供身份证、户口簿及收入、财产情况说明。", "低保 申请 条件"),
    (("民政", "社会服务", "婚姻登记"), "婚姻登记需要预约吗？",
     "结婚、离婚登记可到任一婚姻登记机关办理（全国通办），建议通过民政部门公众号提前预约，携带双方身份证和户口簿。",
     "婚姻登记 结婚 预约"),
    (("教育文体", "教育体制", "教育资源配置"), "小学入学报名需要什么材料？",
     "一般需要儿童及监护人户口簿、房产证明或居住证明等，报名时间和学区划分以当年教育部门发布的招生方案为准。",
     "入学 报名 学区"),
    (("交通运输", "出租车管理", "行业监管"), "出租车不打表、拒载怎么投诉？",
     "请记下车牌号、乘车时间和上下车地点，保留发票或支付记录，拨打12345或交通运输部门投诉电话反映。",
     "出租车 拒载 不打表"),
    (("环境保护", "环境污染", "噪音污染"), "晚上几点以后施工算扰民？",
     "按噪声污染防治规定，夜间（一般为22时至次日6时）禁止在噪声敏感区内进行产生噪声的建筑施工作业，"
     "因特殊需要必须连续施工的，须取得证明并公告附近居民。", "夜间施工 噪音 扰民"),
    (("城乡建设", "城市建设和市政管理", "环境卫生"), "生活垃圾怎么分类？",
     "生活垃圾一般分为可回收物、有害垃圾、厨余垃圾和其他垃圾四类，请按小区投放点的标识分类投放。", "垃圾分类"),
    (("卫生计生", "食品药品监管", "食品安全"), "吃了不干净的食物怎么投诉？",
     "请保留购物凭证、剩余食品和就医记录，拨打12315或12345向市场监管部门投诉举报。", "食品安全 投诉 12315"),
    (("农村农业", "惠农补贴", "农机农资补贴"), "农机购置补贴怎么申请？",
     "在补贴目录内购机后，持身份证、发票、银行卡等材料到旗区农牧部门或通过补贴申请平台提交，审核通过后补贴直接打卡发放。",
     "农机 补贴 申请"),
]


@dataclass
class Staff:
    """The demo's people, by what they do, plus the printed logins."""

    operators: list[User] = field(default_factory=list)
    dispatchers: list[User] = field(default_factory=list)
    district_dispatchers: dict[str, User] = field(default_factory=dict)
    supervisors: list[User] = field(default_factory=list)
    handlers: dict[int, User] = field(default_factory=dict)  # department id → a handler
    grid_workers: dict[int, User] = field(default_factory=dict)  # grid area id → its grid worker
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # (username, role label, scope)


@dataclass
class Organisation:
    centre: Department
    departments: dict[str, Department]
    categories: dict[tuple[str, ...], Category]
    knowledge: dict[int, list[KnowledgeArticle]]
    staff: Staff


# --- the small writes that have no service yet --------------------------------------------------

@transaction.atomic
def department_ensure(*, code: str, name: str, kind: str, area: Area, phone: str = "") -> Department:
    department, _created = Department.objects.update_or_create(
        code=code, defaults={"name": name, "kind": kind, "area": area, "phone": phone, "active": True}
    )
    return department


_password_hash: str | None = None


def demo_user_ensure(*, username: str, display_name: str, superuser: bool = False) -> User:
    """A demo user with the documented password. The hash is computed once (hashing is slow on
    purpose), so hundreds of generated staff cost no more than one."""
    global _password_hash
    if _password_hash is None:
        _password_hash = make_password(DEMO_PASSWORD)
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(username=username)
    user.display_name = display_name
    user.password = _password_hash
    user.is_active = True
    user.is_superuser = user.is_staff = superuser
    user.save()
    return user


@transaction.atomic
def knowledge_article_ensure(*, question: str, answer: str, category: Category | None, keywords: str) -> KnowledgeArticle:
    article, _created = KnowledgeArticle.objects.update_or_create(
        question=question, defaults={"answer": answer, "category": category, "keywords": keywords, "active": True}
    )
    return article


# --- seeding -----------------------------------------------------------------------------------------

# Search keywords of a few common level-3 categories (the taxonomy has names only): what an operator
# types for them, e.g. "ljql" (垃圾清理) finds 环境卫生.
DEMO_KEYWORDS = {
    "环境卫生": "垃圾清理,垃圾,保洁,公厕",
    "噪音污染": "噪音扰民,施工噪音,广场舞",
    "物业服务": "物业,电梯,小区门禁",
    "工资发放": "拖欠工资,讨薪,欠薪",
    "拖欠工程款": "农民工工资,工程款",
}


def seed_catalogue(*, actor: Any = None) -> dict[tuple[str, ...], Category]:
    """The three-level category tree from taxonomy.csv and the default SLA policy (both idempotent)."""
    sla_default_policy_ensure()
    with TAXONOMY_FILE.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    categories_import_taxonomy(rows=rows, actor=actor)
    for category in Category.objects.filter(level=3, name__in=DEMO_KEYWORDS).select_related("parent"):
        category_upsert(code=category.code, name=category.name, parent=category.parent,
                        keywords=DEMO_KEYWORDS[category.name])
    by_id = {c.pk: c for c in Category.objects.all()}
    paths: dict[tuple[str, ...], Category] = {}
    for category in by_id.values():
        names = [by_id[int(pk)].name for pk in category.path.strip("/").split("/") if pk]
        paths[tuple(names)] = category
    return paths


def seed_departments(places: Places) -> tuple[Department, dict[str, Department]]:
    centre = department_ensure(code="CENTRE", name=f"{CITY_NAME}12345政务服务便民热线中心", kind=DepartmentKind.CENTRE,
                               area=places.city, phone="12345")
    departments: dict[str, Department] = {}
    for key, (city_name, district_pattern, kind) in BUREAUS.items():
        departments[f"C-{key}"] = department_ensure(code=f"C-{key}", name=f"{CITY_NAME}{city_name}", kind=kind,
                                                    area=places.city)
        if district_pattern:
            for code, district in sorted(places.districts.items()):
                departments[f"{code}-{key}"] = department_ensure(
                    code=f"{code}-{key}", name=district_pattern.format(d=district.name), kind=kind, area=district,
                )
    for code, town in sorted(places.towns.items()):
        if town.name.endswith("街道"):
            name = f"{town.name}办事处"
        elif town.name.endswith(("开发区", "园区", "示范区")):
            name = f"{town.name}管理委员会"
        else:
            name = f"{town.name}人民政府"
        departments[f"T{code}"] = department_ensure(code=f"T{code}", name=name, kind=DepartmentKind.TOWN_GOVERNMENT,
                                                    area=town)
    return centre, departments


def route(departments: dict[str, Department], path: tuple[str, ...], district_code: str,
          town_code: str) -> tuple[Department, list[Department]]:
    """What the catalogue written by ``seed_dispatch_rules`` suggests for a category path and place,
    worked out in memory with the same precedence (deeper category, then deeper area). The seed's
    dispatchers accept it by passing it explicitly, which spares a catalogue query per order; the
    catalogue itself is exercised by the services' own tests and by every dispatch made in the UI."""

    def bureau(key: str) -> Department:
        return departments.get(f"{district_code}-{key}") or departments[f"C-{key}"]

    for specific, key, _per_district in SPECIFIC_RULES:
        if len(specific) == 3 and path[:3] == specific:
            return bureau(key), []
    if path[:2] in TOWN_RULES:
        return departments[f"T{town_code}"], []
    for specific, key, _per_district in SPECIFIC_RULES:
        if len(specific) == 2 and path[:2] == specific:
            return bureau(key), []
    lead, co = LEVEL1_RULES[path[0]]
    return bureau(lead), [bureau(c) for c in co]


def seed_dispatch_rules(places: Places, departments: dict[str, Department],
                        categories: dict[tuple[str, ...], Category], *, actor: Any = None) -> int:
    """The dispatch catalogue. Written once: a second run finds rules and leaves them (and any edits
    made in the admin) alone."""
    if DispatchRule.objects.exists():
        return 0
    created = 0

    def bureau(key: str, district_code: str | None) -> Department:
        return departments.get(f"{district_code}-{key}") or departments[f"C-{key}"]

    for level1, (lead, co) in LEVEL1_RULES.items():
        category = categories[(level1,)]
        dispatch_rule_create(category=category, area=None, lead_department=bureau(lead, None),
                             co_departments=[bureau(c, None) for c in co], note="市级兜底", actor=actor)
        created += 1
        if f"{next(iter(places.districts))}-{lead}" in departments:
            for code, district in sorted(places.districts.items()):
                dispatch_rule_create(category=category, area=district, lead_department=bureau(lead, code),
                                     co_departments=[bureau(c, code) for c in co], note="属地职能部门", actor=actor)
                created += 1
    for path, key, per_district in SPECIFIC_RULES:
        category = categories[path]
        if per_district:
            for code, district in sorted(places.districts.items()):
                dispatch_rule_create(category=category, area=district, lead_department=bureau(key, code), actor=actor)
                created += 1
        else:
            dispatch_rule_create(category=category, area=None, lead_department=bureau(key, None),
                                 note="公共服务企业", actor=actor)
            created += 1
    for path in TOWN_RULES:
        category = categories[path]
        for code, town in sorted(places.towns.items()):
            dispatch_rule_create(category=category, area=town, lead_department=departments[f"T{code}"],
                                 note="属地苏木乡镇（街道）", actor=actor)
            created += 1
    return created


def seed_knowledge(categories: dict[tuple[str, ...], Category]) -> dict[int, list[KnowledgeArticle]]:
    by_category: dict[int, list[KnowledgeArticle]] = {}
    for path, question, answer, keywords in KNOWLEDGE:
        category = categories.get(path)
        article = knowledge_article_ensure(question=question, answer=answer, category=category, keywords=keywords)
        if category is not None:
            by_category.setdefault(category.pk, []).append(article)
    return by_category


def _grant(user: User, role: str, *, area: Area | None = None, department: Department | None = None) -> None:
    # role_grant is idempotent on (user, role, scope); checking first saves its savepoint and audit row.
    if not RoleAssignment.objects.filter(user=user, role=role, area=area, department=department).exists():
        role_grant(user=user, role=role, area=area, department=department)


def seed_staff(places: Places, centre: Department, departments: dict[str, Department]) -> Staff:
    rng = random.Random(20261123)
    staff = Staff()
    city = places.city
    districts = places.districts
    dongsheng, kangbashi = districts["150602"], districts["150603"]

    def person(username: str, role: str, *, area: Area | None = None, department: Department | None = None,
               display: str | None = None, superuser: bool = False) -> User:
        user = demo_user_ensure(username=username, display_name=display or person_name(rng), superuser=superuser)
        _grant(user, role, area=area, department=department)
        return user

    # The printed logins, one per role.
    operator = person("operator", Role.OPERATOR, area=city, display="话务员 " + person_name(rng))
    dispatcher = person("dispatcher", Role.DISPATCHER, area=city, display="派单员 " + person_name(rng))
    supervisor = person("supervisor", Role.SUPERVISOR, area=city, display="督办员 " + person_name(rng))
    handler = person("handler", Role.HANDLER, department=departments["150602-ZJ"], display="承办人 " + person_name(rng))
    first_grid = next(g for g in places.grids if g.district_code == "150603")
    grid = person("grid", Role.GRID_WORKER, area=first_grid.area, display="网格员 " + person_name(rng))
    leader = person("leader", Role.LEADER, area=city, display="市领导 " + person_name(rng))
    admin = person("admin", Role.ADMIN, area=city, display="系统管理员", superuser=True)
    staff.logins = [
        ("operator", "话务员", f"{city.name}"),
        ("dispatcher", "派单员", f"{city.name}"),
        ("supervisor", "督办员", f"{city.name}"),
        ("handler", "承办人", departments["150602-ZJ"].name),
        ("grid", "网格员", f"{first_grid.address_stem}·{first_grid.area.name}"),
        ("leader", "领导", f"{city.name}"),
        ("admin", "管理员（超级用户）", "全部"),
    ]
    for code, district in sorted(districts.items()):
        short = DISTRICTS[code].short
        staff.district_dispatchers[code] = person(f"dispatcher_{short}", Role.DISPATCHER, area=district,
                                                  display=f"{district.name}派单员 " + person_name(rng))
        person(f"leader_{short}", Role.LEADER, area=district, display=f"{district.name}领导 " + person_name(rng))
    staff.logins += [
        ("dispatcher_dongsheng", "派单员", dongsheng.name),
        ("leader_kangbashi", "领导", kangbashi.name),
    ]
    staff.operators = [operator] + [person(f"operator{n:02d}", Role.OPERATOR, area=city) for n in range(1, 6)]
    staff.dispatchers = [dispatcher] + [person(f"dispatcher{n:02d}", Role.DISPATCHER, area=city) for n in range(1, 4)]
    staff.supervisors = [supervisor, person("supervisor01", Role.SUPERVISOR, area=city)]
    del leader, admin
    # One handler per department (the centre answers on the call: its operators are its people).
    staff.handlers[departments["150602-ZJ"].pk] = handler
    for code, department in sorted(departments.items()):
        if department.pk not in staff.handlers:
            staff.handlers[department.pk] = person(f"handler_{code.lower().replace('-', '_')}", Role.HANDLER,
                                                   department=department)
    staff.handlers[centre.pk] = operator
    # A grid worker for the first grid of every community (and the printed one in 康巴什区).
    staff.grid_workers[first_grid.area.pk] = grid
    staffed = {first_grid.area.parent_id}
    for info in places.grids:
        if info.area.parent_id not in staffed:
            staffed.add(info.area.parent_id)
            staff.grid_workers[info.area.pk] = person(f"grid_{info.area.code.lower()}", Role.GRID_WORKER,
                                                      area=info.area)
    return staff


def seed_organisation(places: Places, *, log: Any = None) -> Organisation:
    categories = seed_catalogue()
    centre, departments = seed_departments(places)
    rules = seed_dispatch_rules(places, departments, categories)
    knowledge = seed_knowledge(categories)
    staff = seed_staff(places, centre, departments)
    if log:
        log(f"分类：{len(categories)} 个；承办单位：{len(departments) + 1} 个；派单目录：新增 {rules} 条；"
            f"知识库：{len(KNOWLEDGE)} 条；人员：{User.objects.count()} 人")
    return Organisation(centre=centre, departments=departments, categories=categories, knowledge=knowledge,
                        staff=staff)
