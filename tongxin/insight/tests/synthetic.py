"""A small synthetic corpus for the tests, written here: three first-level categories whose requests
use different words, with places and numbers varying. It stands in for real messages, which must
never enter the repository."""

from __future__ import annotations

import random

PLACES = ("阳光花园", "金色家园", "幸福里", "东城苑", "锦绣华庭", "翠湖小区", "滨河湾", "银河公寓", "紫薇苑", "和平里")
ROADS = ("鄂尔多斯大街", "天骄路", "伊金霍洛街", "达拉特路", "准格尔路", "吉劳庆街", "宝日陶亥街")
SCHOOLS = ("第一小学", "实验中学", "第三中学", "育才小学", "民族幼儿园")
HOSPITALS = ("中心医院", "人民医院", "妇幼保健院", "蒙医医院")

TEMPLATES = {
    "城乡建设": (
        "{place}{n}号楼暖气不热，室温太低，物业一直不来维修",
        "{road}的路灯坏了好几天，晚上很黑，行人不安全",
        "{place}的垃圾堆放多日无人清运，气味很大",
        "{place}楼道灯坏了，物业不修，电梯也经常停运",
        "{road}施工围挡占用人行道，路面坑洼积水",
        "{place}地下车库漏水，物业推诿不处理",
    ),
    "教育文体": (
        "{school}要求家长交{n}百元资料费，属于乱收费",
        "孩子在{school}上学，学位不够，入学报名困难",
        "{school}的食堂饭菜质量差，孩子吃不饱",
        "校外培训机构{n}节课退费难，老师说不退",
        "{school}放学时间太早，家长接送不便",
    ),
    "卫生计生": (
        "{hospital}挂号排队{n}个小时，看病太难",
        "{hospital}医生态度差，检查收费不合理",
        "在{hospital}住院，医保报销比例太低",
        "{hospital}药品价格比药店贵很多",
        "{hospital}护士打针不规范，病人权益受损",
    ),
}


def sample(label: str, rng: random.Random) -> str:
    template = rng.choice(TEMPLATES[label])
    return template.format(place=rng.choice(PLACES), road=rng.choice(ROADS), school=rng.choice(SCHOOLS),
                           hospital=rng.choice(HOSPITALS), n=rng.randint(1, 30))


def corpus(per_class: int, seed: int = 1) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    texts, labels = [], []
    for label in TEMPLATES:
        for _ in range(per_class):
            texts.append(sample(label, rng))
            labels.append(label)
    return texts, labels
