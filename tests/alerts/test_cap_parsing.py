"""parse_cap on our own CAP documents: every field read, every bad input refused with the right code."""

import codecs
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from incidents.alerts.cap import (
    Alert,
    Area,
    CapRejected,
    Circle,
    Info,
    Reference,
    Resource,
    ValuePair,
    parse_cap,
)
from tests.alerts.support import fixture_bytes

BEIJING = timezone(timedelta(hours=8))
WARNING_SENDER = "warning@zhuhai-met.example.cn"
WARNING = Reference(WARNING_SENDER, "CN-GD-ZH-QXT-20240905-0001", datetime(2024, 9, 5, 8, tzinfo=BEIJING))
UPDATE = Reference(WARNING_SENDER, "CN-GD-ZH-QXT-20240905-0002", datetime(2024, 9, 5, 14, tzinfo=BEIJING))

ZHUHAI_POLYGON = [(22.45, 113.25), (22.45, 113.7), (21.95, 113.7), (21.95, 113.25), (22.45, 113.25)]
ZHONGSHAN_MACAO_CIRCLE = Circle(22.35, 113.5, 40.0)
GB_T_2260_ZHUHAI = ValuePair("GB/T 2260", "440400")
GB_T_2260_ZHONGSHAN = ValuePair("GB/T 2260", "442000")
GB_T_2260_MACAO = ValuePair("GB/T 2260", "820000")

MINIMAL_ALERT = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>T-1</identifier>
  <sender>test@example.cn</sender>
  <sent>2024-09-05T08:00:00+08:00</sent>
  <status>Test</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <category>Met</category>
    <event>{event}</event>
    <urgency>Unknown</urgency>
    <severity>Unknown</severity>
    <certainty>Unknown</certainty>
  </info>
</alert>
"""


def minimal_alert(event: str = "Test", encoding: str = "UTF-8") -> bytes:
    return MINIMAL_ALERT.format(event=event).replace('encoding="UTF-8"', f'encoding="{encoding}"').encode(encoding)


def rejection(data: bytes, **kwargs) -> CapRejected:
    with pytest.raises(CapRejected) as caught:
        parse_cap(data, **kwargs)
    assert caught.value.reason.strip()
    return caught.value


# --- reading ---------------------------------------------------------------------------------------


def test_it_reads_every_field_of_the_bilingual_zhuhai_typhoon_warning():
    alert = parse_cap(fixture_bytes("zhuhai-typhoon-warning.xml"))

    assert alert == Alert(
        identifier="CN-GD-ZH-QXT-20240905-0001",
        sender=WARNING_SENDER,
        sent=datetime(2024, 9, 5, 8, tzinfo=BEIJING),
        status="Exercise",
        msg_type="Alert",
        source="珠海市气象台 Zhuhai Meteorological Observatory",
        scope="Public",
        addresses=["440400", "Zhongshan Emergency Management Bureau", "Macao Civil Protection Operations Centre"],
        codes=["GBA-cross-border", "typhoon-season-2024"],
        note="演练用测试数据 / exercise test data",
        incidents=["TY2411", "Typhoon Yagi"],
        infos=[
            Info(
                language="zh-CN",
                categories=["Met", "Safety"],
                event="台风",
                response_types=["Prepare", "Shelter"],
                urgency="Expected",
                severity="Severe",
                certainty="Likely",
                audience="珠海、中山及澳门公众",
                event_codes=[ValuePair("liandong:event", "typhoon-orange")],
                effective=datetime(2024, 9, 5, 8, tzinfo=BEIJING),
                onset=datetime(2024, 9, 5, 20, tzinfo=BEIJING),
                expires=datetime(2024, 9, 6, 20, tzinfo=BEIJING),
                sender_name="珠海市气象台",
                headline="珠海市气象台发布台风橙色预警信号",
                description="受台风“摩羯”影响，预计未来24小时内珠海市将出现10级以上大风和暴雨。",
                instruction="停止户外集体活动；船只回港避风；居民尽量留在室内，远离临时搭建物。",
                web="https://zhuhai-met.example.cn/warnings/20240905-0001",
                contact="0756-0000000",
                parameters=[ValuePair("台风编号", "2411"), ValuePair("最大风力", "12级")],
                resources=[
                    Resource(
                        resource_desc="台风路径图",
                        mime_type="image/png",
                        size=48213,
                        uri="https://zhuhai-met.example.cn/maps/ty2411.png",
                        digest="3f786850e387550fdab836ed7e6dc881de23001b",
                    )
                ],
                areas=[
                    Area(area_desc="珠海市", polygons=[ZHUHAI_POLYGON], geocodes=[GB_T_2260_ZHUHAI]),
                    Area(
                        area_desc="中山市及澳门特别行政区",
                        circles=[ZHONGSHAN_MACAO_CIRCLE],
                        geocodes=[GB_T_2260_ZHONGSHAN, GB_T_2260_MACAO],
                        altitude=0.0,
                        ceiling=3000.5,
                    ),
                ],
            ),
            Info(
                language="en-US",
                categories=["Met", "Safety"],
                event="Typhoon",
                response_types=["Prepare", "Shelter"],
                urgency="Expected",
                severity="Severe",
                certainty="Likely",
                audience="The public in Zhuhai, Zhongshan and Macao",
                event_codes=[ValuePair("liandong:event", "typhoon-orange")],
                effective=datetime(2024, 9, 5, 8, tzinfo=BEIJING),
                onset=datetime(2024, 9, 5, 20, tzinfo=BEIJING),
                expires=datetime(2024, 9, 6, 20, tzinfo=BEIJING),
                sender_name="Zhuhai Meteorological Observatory",
                headline="Orange typhoon warning signal issued for Zhuhai",
                description=(
                    "Under the influence of Typhoon Yagi, gales of force 10 or above and torrential rain are "
                    "expected in Zhuhai within 24 hours."
                ),
                instruction=(
                    "Stop outdoor group activities; vessels return to port; residents stay indoors and keep away "
                    "from temporary structures."
                ),
                web="https://zhuhai-met.example.cn/en/warnings/20240905-0001",
                contact="+86 756 000 0000",
                parameters=[ValuePair("Typhoon number", "2411")],
                areas=[
                    Area(area_desc="Zhuhai", polygons=[ZHUHAI_POLYGON], geocodes=[GB_T_2260_ZHUHAI]),
                    Area(
                        area_desc="Zhongshan and the Macao SAR",
                        circles=[ZHONGSHAN_MACAO_CIRCLE],
                        geocodes=[GB_T_2260_ZHONGSHAN, GB_T_2260_MACAO],
                    ),
                ],
            ),
        ],
    )


def test_it_keeps_the_beijing_offset_of_every_date_time():
    alert = parse_cap(fixture_bytes("zhuhai-typhoon-warning.xml"))

    info = alert.infos[0]
    for moment in (alert.sent, info.effective, info.onset, info.expires):
        assert moment.utcoffset() == timedelta(hours=8)


def test_it_reads_the_update_as_referring_to_the_warning():
    update = parse_cap(fixture_bytes("zhuhai-typhoon-update.xml"))

    assert update.msg_type == "Update"
    assert update.references == [WARNING]
    assert update.references[0].sent.utcoffset() == timedelta(hours=8)
    assert [info.language for info in update.infos] == ["zh-CN", "en-US"]
    assert update.infos[0].severity == "Extreme"
    assert update.infos[0].areas[0].geocodes == [ValuePair("GB/T 2260", "440402")]


def test_it_reads_the_cancel_with_references_across_lines_and_no_info():
    cancel = parse_cap(fixture_bytes("zhuhai-typhoon-cancel.xml"))

    assert cancel.msg_type == "Cancel"
    assert cancel.references == [WARNING, UPDATE]
    assert cancel.infos == []
    assert cancel.incidents == ["TY2411"]


def test_it_reads_the_english_forecast_with_the_default_language_and_utc():
    forecast = parse_cap(fixture_bytes("pearl-river-delta-rain-forecast.xml"))

    assert forecast.scope == "Restricted"
    assert forecast.restriction == "For emergency management agencies in the Greater Bay Area only"
    assert forecast.sent == datetime(2024, 6, 12, 2, tzinfo=UTC)
    assert forecast.sent.utcoffset() == timedelta(0)
    [info] = forecast.infos
    assert info.language == "en-US"
    assert info.effective is None
    assert info.onset == datetime(2024, 6, 13, tzinfo=UTC)
    assert info.areas == [Area(area_desc="Western Pearl River Delta", geocodes=[ValuePair("GB/T 2260", "440700")])]
    assert forecast.has_signature is False


def test_it_reads_cap_prefixed_elements():
    prefixed = (
        fixture_bytes("zhuhai-typhoon-update.xml")
        .replace(b'xmlns="urn:oasis', b'xmlns:cap="urn:oasis')
        .replace(b"<", b"<cap:")
        .replace(b"<cap:/", b"</cap:")
        .replace(b"<cap:?xml", b"<?xml")
        .replace(b"<cap:!--", b"<!--")
    )

    assert b"<cap:alert" in prefixed
    assert parse_cap(prefixed) == parse_cap(fixture_bytes("zhuhai-typhoon-update.xml"))


@pytest.mark.parametrize(
    ("encoding", "event"),
    [("ISO-8859-1", "Tempête près de Nîmes"), ("GB18030", "台风“摩羯”"), ("UTF-16", "台风 Typhoon")],
)
def test_it_honours_the_declared_encoding(encoding, event):
    assert parse_cap(minimal_alert(event, encoding)).infos[0].event == event


def test_it_accepts_a_byte_order_mark_and_blank_lines_before_the_declaration():
    data = codecs.BOM_UTF8 + b"\n\n  " + minimal_alert("BOM")

    assert parse_cap(data).infos[0].event == "BOM"


def test_it_reports_original_line_numbers_after_blank_lines_before_the_declaration():
    data = b"\n\n" + minimal_alert().replace(b"<status>Test</status>", b"<status>Testing</status>")

    assert rejection(data).line == 8


def test_it_treats_empty_optional_elements_as_absent():
    data = minimal_alert().replace(
        b"<scope>Public</scope>",
        b"<scope>Public</scope><restriction/><addresses> </addresses><code/><note></note><references/><incidents/>",
    )

    alert = parse_cap(data)

    assert (alert.restriction, alert.addresses, alert.codes, alert.note, alert.references, alert.incidents) == (
        None,
        [],
        [],
        None,
        [],
        [],
    )


def test_it_reads_text_split_by_comments_and_cdata_as_one_value():
    alert = parse_cap(minimal_alert("台风<!-- signal -->橙色<![CDATA[ <预警> ]]>"))

    assert alert.infos[0].event == "台风橙色 <预警> "


def test_it_does_not_mistake_a_doctype_quoted_in_text_for_a_declaration():
    alert = parse_cap(minimal_alert("<![CDATA[<!DOCTYPE html>]]>"))

    assert alert.infos[0].event == "<!DOCTYPE html>"


# --- refusing unsafe documents ---------------------------------------------------------------------


def with_prolog(prolog: str, body: str = "<alert/>") -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{prolog}\n{body}'.encode()


def test_it_rejects_a_dtd_with_an_external_file_entity():
    data = with_prolog(
        '<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&xxe;</identifier></alert>',
    )

    rejected = rejection(data)

    assert rejected.code == "unsafe"
    assert rejected.line == 2
    assert "root:" not in rejected.reason


def test_it_rejects_an_external_dtd():
    data = with_prolog('<!DOCTYPE alert SYSTEM "http://127.0.0.1:9/cap.dtd">')

    assert rejection(data).code == "unsafe"


def test_it_rejects_a_bare_doctype_after_comments_and_processing_instructions():
    data = with_prolog('<!-- a comment -->\n<?xml-stylesheet href="x.xsl"?>\n<!DOCTYPE alert>')

    rejected = rejection(data)

    assert (rejected.code, rejected.line) == ("unsafe", 4)


def test_it_rejects_a_billion_laughs_entity_bomb_fast():
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">' for level in range(1, 10)
    ]
    data = with_prolog(f"<!DOCTYPE alert [{''.join(entities)}]>", "<alert>&lol9;</alert>")

    started = time.perf_counter()
    rejected = rejection(data)
    elapsed = time.perf_counter() - started

    assert rejected.code == "unsafe"
    assert elapsed < 0.1


def test_it_rejects_a_parameter_entity():
    data = with_prolog('<!DOCTYPE alert [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>')

    rejected = rejection(data)

    assert rejected.code == "unsafe"
    assert "entities" in rejected.reason


def test_it_rejects_a_dtd_in_utf_16():
    data = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE alert [<!ENTITY a "b">]><alert>&a;</alert>'

    assert rejection(data.encode("utf-16")).code == "unsafe"


def test_it_rejects_a_dtd_hidden_by_utf_7_after_parsing_without_expanding_it():
    # UTF-7 spells "<!" as "+ADwAIQ-", which no byte scan sees; the parsed document's docinfo still does.
    body = '<!DOCTYPE alert [<!ENTITY a "b">]><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">&a;</alert>'
    data = b'<?xml version="1.0" encoding="UTF-7"?>' + body.replace("<!", "+ADwAIQ-").encode("ascii")

    assert rejection(data).code == "unsafe"


def test_it_rejects_oversized_input_before_parsing():
    oversized = minimal_alert("x" * 1_000_000)

    assert rejection(oversized).code == "too_large"
    assert rejection(minimal_alert(), max_bytes=100).code == "too_large"


# --- refusing documents that are not CAP 1.2 ---------------------------------------------------------


def test_it_rejects_input_that_is_not_well_formed_with_its_line():
    data = minimal_alert().replace(b"<event>Test</event>", b"<event>Test</evnt>")

    rejected = rejection(data)

    assert rejected.code == "not_well_formed"
    assert rejected.line == 11


def test_it_rejects_an_empty_document():
    assert rejection(b"").code == "not_well_formed"


@pytest.mark.parametrize(
    "root",
    [
        '<feed xmlns="http://www.w3.org/2005/Atom"/>',
        '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.1"/>',
        "<alert/>",
        '<EDXLDistribution xmlns="urn:oasis:names:tc:emergency:EDXL:DE:1.0"/>',
    ],
)
def test_it_rejects_a_root_that_is_not_a_cap_1_2_alert(root):
    rejected = rejection(root.encode())

    assert rejected.code == "not_cap"
    assert rejected.line == 1


def test_it_names_cap_1_1_as_the_wrong_version():
    rejected = rejection(b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.1"/>')

    assert "only CAP 1.2" in rejected.reason


def test_it_rejects_a_missing_sender_naming_it():
    rejected = rejection(minimal_alert().replace(b"<sender>test@example.cn</sender>\n", b""))

    assert rejected.code == "schema"
    assert "sender" in rejected.reason
    assert rejected.element == "sent"
    assert rejected.line == 4


def test_it_rejects_a_bad_status_naming_the_element():
    rejected = rejection(minimal_alert().replace(b"<status>Test</status>", b"<status>Testing</status>"))

    assert rejected.code == "schema"
    assert rejected.element == "status"
    assert rejected.line == 6
    assert "Testing" in rejected.reason


def test_it_rejects_an_update_that_references_nothing():
    data = fixture_bytes("zhuhai-typhoon-update.xml").replace(
        b"<references>warning@zhuhai-met.example.cn,CN-GD-ZH-QXT-20240905-0001,2024-09-05T08:00:00+08:00",
        b"<references>",
    )

    rejected = rejection(data)

    assert (rejected.code, rejected.element, rejected.line) == ("schema", "references", 10)


@pytest.mark.parametrize(
    ("original", "broken", "element"),
    [
        (b"<polygon>22.45,113.25 ", b"<polygon>22.45;113.25 ", "polygon"),
        (b"<circle>22.35,113.5 40</circle>", b"<circle>22.35,113.5</circle>", "circle"),
        (b"<altitude>0</altitude>", b"<altitude>0</altitude><ceiling>NaN</ceiling>", "ceiling"),
    ],
)
def test_it_rejects_malformed_geometry_naming_the_element(original, broken, element):
    data = fixture_bytes("zhuhai-typhoon-warning.xml").replace(original, broken, 1)

    rejected = rejection(data)

    assert (rejected.code, rejected.element) == ("schema", element)


def test_it_rejects_a_reference_that_is_not_a_triple():
    data = fixture_bytes("zhuhai-typhoon-update.xml").replace(
        b",2024-09-05T08:00:00+08:00</references>", b"</references>"
    )

    rejected = rejection(data)

    assert (rejected.code, rejected.element) == ("schema", "references")
    assert "sender,identifier,sent" in rejected.reason


def test_a_rejection_reads_well_as_a_message():
    rejected = rejection(minimal_alert().replace(b"<status>Test</status>", b"<status>Testing</status>"))

    assert str(rejected).startswith("schema: not valid CAP 1.2: Element 'status'")
    assert str(rejected).endswith("(line 6, <status>)")
