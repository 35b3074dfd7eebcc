"""Posting CAP through the API and writing our own CAP documents (Chinese and English, live
now, geocoded) for the alerts tests."""

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from incidents.alerts.cap import Alert, Area, Circle, Info, ValuePair, render_cap

BEIJING = timezone(timedelta(hours=8))
CAP = "application/cap+xml"


def post_cap(client, document: bytes, content_type: str = CAP):
    return client.post("/api/v1/cap/", data=document, content_type=content_type)


def soon(hours: float = 0) -> datetime:
    """A CAP date-time (seconds, Beijing offset) `hours` from now."""
    return (datetime.now(BEIJING) + timedelta(hours=hours)).replace(microsecond=0)


def zhuhai_info(language: str = "zh-CN", **changes) -> Info:
    chinese = language.startswith("zh")
    info = Info(
        language=language,
        categories=["Met"],
        event="台风" if chinese else "Typhoon",
        response_types=["Prepare"],
        urgency="Expected",
        severity="Severe",
        certainty="Likely",
        expires=soon(24),
        sender_name="珠海市气象台" if chinese else "Zhuhai Meteorological Observatory",
        headline="台风橙色预警信号" if chinese else "Orange typhoon warning",
        description="预计未来24小时内有10级以上大风。" if chinese else "Gales of force 10 or above within 24 hours.",
        contact="0756-0000000",
        areas=[Area(area_desc="珠海市" if chinese else "Zhuhai", geocodes=[ValuePair("GB/T 2260", "440400")])],
    )
    return replace(info, **changes)


def cap_document(identifier: str = "ZH-TEST-1", *, sender: str = "warning@zhuhai-met.example.cn",
                 infos: list[Info] | None = None, **changes) -> bytes:
    """One of our own CAP documents: an Actual, Public, bilingual Zhuhai warning, live now."""
    alert = Alert(
        identifier=identifier,
        sender=sender,
        sent=soon(),
        status="Actual",
        msg_type="Alert",
        scope="Public",
        infos=[zhuhai_info("zh-CN"), zhuhai_info("en-US")] if infos is None else infos,
    )
    return render_cap(replace(alert, **changes))


def geocoded(*codes: str, value_name: str = "GB/T 2260") -> Area:
    return Area(area_desc="by code", geocodes=[ValuePair(value_name, code) for code in codes])


def circle_area(lat: float, lon: float, radius_km: float) -> Area:
    return Area(area_desc="circle", circles=[Circle(lat, lon, radius_km)])
