"""Property: any Alert we can build renders to valid CAP 1.2 and parses back to the same Alert."""

import string
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidents.alerts.cap import Alert, Area, Circle, Info, Reference, Resource, ValuePair, parse_cap, render_cap
from incidents.alerts.cap.model import (
    CATEGORIES,
    CERTAINTIES,
    MSG_TYPES,
    MSG_TYPES_ACTING_ON_REFERENCES,
    RESPONSE_TYPES,
    SCOPES,
    SEVERITIES,
    STATUSES,
    URGENCIES,
)
from tests.alerts.support import assert_valid_cap

# Text as it appears in warnings for the Greater Bay Area: CJK, ASCII (markup characters included),
# full-width punctuation, line breaks. Carriage returns must survive too (they travel as &#13;).
_characters = st.one_of(
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5),
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    st.sampled_from("，。、：；！？“”（）《》—…\n\t\r"),
)
any_text = st.text(_characters, max_size=30)
some_text = st.text(_characters, min_size=1, max_size=40).filter(str.strip)
optional_text = st.none() | some_text
# Identifiers, senders and reference parts: CAP forbids spaces and commas in them.
token = st.text(string.ascii_letters + string.digits + "-._:@/", min_size=1, max_size=24)
list_entry = st.text(string.ascii_letters + string.digits + "-._ 珠海澳门", min_size=1, max_size=20).filter(str.strip)
uri = token.map(lambda path: f"https://alerts.example.cn/{path}")

offsets = st.sampled_from(
    [timezone(timedelta(hours=8)), UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=45))]
)
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=offsets).map(
    lambda moment: moment.replace(microsecond=0)
)
latitudes = st.floats(min_value=-90, max_value=90, allow_nan=False)
longitudes = st.floats(min_value=-180, max_value=180, allow_nan=False)
points = st.tuples(latitudes, longitudes)
closed_rings = st.lists(points, min_size=3, max_size=6).map(lambda ring: [*ring, ring[0]])
circles = st.builds(Circle, latitudes, longitudes, st.floats(min_value=0, max_value=500))
geocodes = st.builds(
    ValuePair, st.just("GB/T 2260") | any_text, st.sampled_from(["440400", "442000", "820000", "440402"]) | any_text
)
value_pairs = st.builds(ValuePair, any_text, any_text)
heights = st.none() | st.floats(min_value=-500, max_value=30000, allow_nan=False)

areas = st.builds(
    Area,
    area_desc=any_text,
    polygons=st.lists(closed_rings, max_size=2),
    circles=st.lists(circles, max_size=2),
    geocodes=st.lists(geocodes, max_size=3),
    altitude=heights,
    ceiling=heights,
)
resources = st.builds(
    Resource,
    resource_desc=any_text,
    mime_type=st.sampled_from(["image/png", "application/pdf", "audio/mpeg"]),
    size=st.none() | st.integers(min_value=0, max_value=10**9),
    uri=st.none() | uri,
    deref_uri=st.none() | st.binary(min_size=1, max_size=30).map(lambda raw: raw.hex()),
    digest=st.none() | st.binary(min_size=20, max_size=20).map(lambda raw: raw.hex()),
)
infos = st.builds(
    Info,
    language=st.sampled_from(["zh-CN", "en-US"]),
    categories=st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=3),
    event=any_text,
    response_types=st.lists(st.sampled_from(RESPONSE_TYPES), max_size=2),
    urgency=st.sampled_from(URGENCIES),
    severity=st.sampled_from(SEVERITIES),
    certainty=st.sampled_from(CERTAINTIES),
    audience=optional_text,
    event_codes=st.lists(value_pairs, max_size=2),
    effective=st.none() | moments,
    onset=st.none() | moments,
    expires=st.none() | moments,
    sender_name=optional_text,
    headline=optional_text,
    description=optional_text,
    instruction=optional_text,
    web=st.none() | uri,
    contact=optional_text,
    parameters=st.lists(value_pairs, max_size=3),
    resources=st.lists(resources, max_size=2),
    areas=st.lists(areas, max_size=3),
)
references = st.builds(Reference, token, token, moments)


@st.composite
def alerts(draw) -> Alert:
    msg_type = draw(st.sampled_from(MSG_TYPES))
    needs_references = msg_type in MSG_TYPES_ACTING_ON_REFERENCES
    return Alert(
        identifier=draw(token),
        sender=draw(token),
        sent=draw(moments),
        status=draw(st.sampled_from(STATUSES)),
        msg_type=msg_type,
        source=draw(optional_text),
        scope=draw(st.sampled_from(SCOPES)),
        restriction=draw(optional_text),
        addresses=draw(st.lists(list_entry, max_size=3)),
        codes=draw(st.lists(some_text, max_size=2)),
        note=draw(optional_text),
        references=draw(st.lists(references, min_size=1 if needs_references else 0, max_size=3)),
        incidents=draw(st.lists(list_entry, max_size=2)),
        infos=draw(st.lists(infos, max_size=3)),
    )


def offsets_of(alert: Alert) -> list[timedelta | None]:
    """Every date-time's UTC offset: Alert equality compares instants, the offsets must survive too."""
    moments_in_alert = [alert.sent, *(reference.sent for reference in alert.references)]
    for info in alert.infos:
        moments_in_alert += [info.effective, info.onset, info.expires]
    return [moment.utcoffset() if moment else None for moment in moments_in_alert]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(alerts())
def test_a_rendered_alert_is_valid_cap_and_parses_back_to_itself(alert):
    document = render_cap(alert)

    assert_valid_cap(document)
    parsed = parse_cap(document)
    assert parsed == alert
    assert offsets_of(parsed) == offsets_of(alert)
