"""The incident catalogue as data: categories of the PRC Emergency Response Law and their types.

Labels are Chinese and English; the API accepts the codes. Adding a type is adding a line here
(no migration: the database checks the category, the service checks the type against this).
"""

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    NATURAL_DISASTER = "natural_disaster", _("Natural disaster")
    ACCIDENT = "accident", _("Accident")
    PUBLIC_HEALTH = "public_health", _("Public health incident")
    SOCIAL_SAFETY = "social_safety", _("Social safety incident")


@dataclass(frozen=True)
class Label:
    zh: str
    en: str


CATEGORY_LABELS: dict[str, Label] = {
    Category.NATURAL_DISASTER: Label("自然灾害", "Natural disaster"),
    Category.ACCIDENT: Label("事故灾难", "Accident"),
    Category.PUBLIC_HEALTH: Label("公共卫生事件", "Public health incident"),
    Category.SOCIAL_SAFETY: Label("社会安全事件", "Social safety incident"),
}

TYPES: dict[str, dict[str, Label]] = {
    Category.NATURAL_DISASTER: {
        "flood": Label("洪涝", "Flood"),
        "rainstorm": Label("暴雨", "Rainstorm"),
        "typhoon": Label("台风", "Typhoon"),
        "storm_surge": Label("风暴潮", "Storm surge"),
        "earthquake": Label("地震", "Earthquake"),
        "landslide": Label("山体滑坡", "Landslide"),
        "debris_flow": Label("泥石流", "Debris flow"),
        "land_subsidence": Label("地面塌陷", "Land subsidence"),
        "drought": Label("干旱", "Drought"),
        "heat_wave": Label("高温", "Heat wave"),
        "cold_wave": Label("寒潮", "Cold wave"),
        "hail": Label("冰雹", "Hail"),
        "tornado": Label("龙卷风", "Tornado"),
        "forest_fire": Label("森林火灾", "Forest fire"),
        "red_tide": Label("赤潮", "Red tide"),
    },
    Category.ACCIDENT: {
        "fire": Label("火灾", "Fire"),
        "hazmat": Label("危险化学品泄漏", "Hazardous materials release"),
        "explosion": Label("爆炸", "Explosion"),
        "traffic": Label("道路交通事故", "Road traffic accident"),
        "rail": Label("铁路事故", "Rail accident"),
        "aviation": Label("航空事故", "Aviation accident"),
        "maritime": Label("水上交通事故", "Maritime accident"),
        "building_collapse": Label("建筑物坍塌", "Building collapse"),
        "mining": Label("矿山事故", "Mining accident"),
        "power_outage": Label("大面积停电", "Large-scale power outage"),
        "water_supply": Label("供水中断", "Water supply failure"),
        "gas_leak": Label("燃气泄漏", "Gas leak"),
        "environmental_pollution": Label("环境污染", "Environmental pollution"),
        "nuclear": Label("核与辐射事故", "Nuclear or radiation accident"),
        "infrastructure": Label("基础设施事故", "Infrastructure failure"),
    },
    Category.PUBLIC_HEALTH: {
        "epidemic": Label("传染病疫情", "Epidemic"),
        "food_safety": Label("食品安全事故", "Food safety incident"),
        "poisoning": Label("群体性中毒", "Mass poisoning"),
        "unexplained_illness": Label("群体性不明原因疾病", "Cluster of unexplained illness"),
        "animal_epidemic": Label("动物疫情", "Animal epidemic"),
        "vaccine_safety": Label("疫苗安全事件", "Vaccine safety incident"),
    },
    Category.SOCIAL_SAFETY: {
        "mass_gathering": Label("群体性事件", "Mass gathering"),
        "crowd_crush": Label("拥挤踩踏", "Crowd crush"),
        "terrorism": Label("恐怖袭击", "Terrorist attack"),
        "criminal_violence": Label("重大刑事案件", "Serious violent crime"),
        "cyber_security": Label("网络安全事件", "Cyber security incident"),
        "economic_security": Label("经济安全事件", "Economic security incident"),
        "foreign_related": Label("涉外突发事件", "Foreign-related incident"),
    },
}

ALL_TYPES: frozenset[str] = frozenset(code for types in TYPES.values() for code in types)
TYPE_CHOICES: list[tuple[str, str]] = [(code, code) for code in sorted(ALL_TYPES)]


def is_type_of(category: str, type_code: str) -> bool:
    return type_code in TYPES.get(category, {})


def catalogue_as_data() -> list[dict]:
    """The catalogue as the API serves it (GET /api/v1/incident-categories/)."""
    return [
        {
            "code": str(category),
            "name_zh": CATEGORY_LABELS[category].zh,
            "name_en": CATEGORY_LABELS[category].en,
            "types": [{"code": code, "name_zh": label.zh, "name_en": label.en} for code, label in types.items()],
        }
        for category, types in TYPES.items()
    ]
