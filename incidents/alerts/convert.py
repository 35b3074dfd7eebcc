"""CAP messages (the incidents.alerts.cap dataclasses) to rows and back.

One place knows how a CAP value is kept: date-times as the UTC instant plus the offset they
were written with, value pairs and shapes as JSON lists in CAP's own order (lat, lon), absent
optional text as "". Rows read back give the same `cap.Alert` that was stored, less the
withheld fields, so an export is the received alert re-rendered.
"""

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

from incidents.alerts import cap
from incidents.alerts.links import is_web_page
from incidents.alerts.models import (
    MAX_IDENTIFIER_LENGTH,
    Alert,
    AlertArea,
    AlertInfo,
    AlertReference,
    AlertResource,
)

# A field the visibility rule withholds (sharing.visibility.SENSITIVE_FIELDS) and the <info>
# element that carries it in CAP: a contact number is "contacts".
WITHHELD_INFO_ELEMENTS = {"contacts": "contact"}

_BIGINT = 2**63 - 1


class NotStorable(ValueError):
    """Valid CAP that we cannot keep faithfully; the message says which element and why."""

    def __init__(self, reason: str, element: str):
        super().__init__(reason)
        self.reason = reason
        self.element = element


# --- date-times ---------------------------------------------------------------------------------


def offset_minutes(moment: datetime) -> int:
    return moment.utcoffset() // timedelta(minutes=1)


def as_written(moment: datetime | None, offset: int | None) -> datetime | None:
    """A stored instant in the offset its message was written with."""
    if moment is None:
        return None
    return moment.astimezone(timezone(timedelta(minutes=offset or 0)))


def _moment(moment: datetime | None) -> tuple[datetime | None, int | None]:
    return (moment, offset_minutes(moment)) if moment is not None else (None, None)


# --- checks ---------------------------------------------------------------------------------------


def check_storable(alert: cap.Alert) -> None:
    """Refuse what the XSD lets through but no database keeps faithfully, or that we will not
    pass on (a <web> that is no web page: incidents.alerts.links), as NotStorable."""
    names = [("identifier", alert.identifier), ("sender", alert.sender)]
    names += [("references", part) for reference in alert.references for part in reference[:2]]
    for element, text in names:
        if len(text) > MAX_IDENTIFIER_LENGTH:
            raise NotStorable(f"<{element}> names longer than {MAX_IDENTIFIER_LENGTH} characters are not accepted",
                              element)
    moments = [("sent", alert.sent)] + [("references", reference.sent) for reference in alert.references]
    numbers: list[tuple[str, float]] = []
    for info in alert.infos:
        moments += [("effective", info.effective), ("onset", info.onset), ("expires", info.expires)]
        if info.web is not None and not is_web_page(info.web):
            # Refused rather than dropped: the stored document is the bytes received (a
            # signature covers them) and the sender learns at once that its link was not taken.
            raise NotStorable("<web> must be an http or https address with a host (a page to open, not a "
                              "javascript:, data: or file: address)", "web")
        for resource in info.resources:
            if resource.size is not None and not -_BIGINT <= resource.size <= _BIGINT:
                raise NotStorable("<size> is beyond a 64-bit integer", "size")
        for area in info.areas:
            numbers += [("polygon", number) for polygon in area.polygons for point in polygon for number in point]
            numbers += [("circle", number) for circle in area.circles for number in circle]
            numbers += [(name, value) for name, value in (("altitude", area.altitude), ("ceiling", area.ceiling))
                        if value is not None]
    for element, moment in moments:
        if moment is not None:
            try:
                moment.astimezone(UTC)
            except OverflowError:
                raise NotStorable(f"<{element}> {moment.isoformat()} falls outside the years 1-9999 in UTC",
                                  element) from None
    for element, number in numbers:
        if not math.isfinite(number):
            raise NotStorable(f"<{element}> holds a number too large to represent", element)


# --- CAP → rows --------------------------------------------------------------------------------------


def alert_values(alert: cap.Alert) -> dict:
    """The Alert row's CAP fields."""
    expiries = [info.expires for info in alert.infos]
    return {
        "identifier": alert.identifier,
        "sender": alert.sender,
        "sent": alert.sent,
        "sent_offset": offset_minutes(alert.sent),
        "status": alert.status,
        "msg_type": alert.msg_type,
        "source": alert.source or "",
        "scope": alert.scope,
        "restriction": alert.restriction or "",
        "addresses": list(alert.addresses),
        "codes": list(alert.codes),
        "note": alert.note or "",
        "cap_incidents": list(alert.incidents),
        "exercise": alert.status in ("Exercise", "Test"),
        "expires": max(expiries) if expiries and None not in expiries else None,
    }


def child_rows(row: Alert, alert: cap.Alert) -> tuple[list[AlertInfo], list[tuple[AlertInfo, cap.Info]],
                                                        list[AlertReference]]:
    """Unsaved info and reference rows of a saved alert row; resources and areas follow
    from `info_children` once the info rows have their keys."""
    infos = []
    for position, info in enumerate(alert.infos):
        effective, effective_offset = _moment(info.effective)
        onset, onset_offset = _moment(info.onset)
        expires, expires_offset = _moment(info.expires)
        infos.append(AlertInfo(
            alert=row, position=position, language=info.language, categories=list(info.categories),
            event=info.event, response_types=list(info.response_types), urgency=info.urgency,
            severity=info.severity, certainty=info.certainty, audience=info.audience or "",
            event_codes=[list(pair) for pair in info.event_codes],
            effective=effective, effective_offset=effective_offset, onset=onset, onset_offset=onset_offset,
            expires=expires, expires_offset=expires_offset, sender_name=info.sender_name or "",
            headline=info.headline or "", description=info.description or "",
            instruction=info.instruction or "", web=info.web or "", contact=info.contact or "",
            parameters=[list(pair) for pair in info.parameters],
        ))
    references = [
        AlertReference(alert=row, position=position, sender=reference.sender, identifier=reference.identifier,
                       sent=reference.sent, sent_offset=offset_minutes(reference.sent))
        for position, reference in enumerate(alert.references)
    ]
    return infos, list(zip(infos, alert.infos, strict=True)), references


def info_children(pairs: list[tuple[AlertInfo, cap.Info]]) -> tuple[list[AlertResource], list[AlertArea]]:
    resources, areas = [], []
    for row, info in pairs:
        for position, resource in enumerate(info.resources):
            resources.append(AlertResource(
                info=row, position=position, resource_desc=resource.resource_desc, mime_type=resource.mime_type,
                size=resource.size, uri=resource.uri or "", deref_uri=resource.deref_uri or "",
                digest=resource.digest or "",
            ))
        for position, area in enumerate(info.areas):
            areas.append(AlertArea(
                info=row, position=position, area_desc=area.area_desc,
                polygons=[[list(point) for point in polygon] for polygon in area.polygons],
                circles=[list(circle) for circle in area.circles],
                geocodes=[list(pair) for pair in area.geocodes],
                altitude=area.altitude, ceiling=area.ceiling,
            ))
    return resources, areas


# --- rows → CAP ---------------------------------------------------------------------------------------


def _text(value: str) -> str | None:
    return value or None


def _pairs(pairs: list) -> list[cap.ValuePair]:
    return [cap.ValuePair(name, value) for name, value in pairs]


def cap_area(area: AlertArea) -> cap.Area:
    return cap.Area(
        area_desc=area.area_desc,
        polygons=[[(lat, lon) for lat, lon in polygon] for polygon in area.polygons],
        circles=[cap.Circle(*circle) for circle in area.circles],
        geocodes=_pairs(area.geocodes),
        altitude=area.altitude,
        ceiling=area.ceiling,
    )


def cap_resource(resource: AlertResource) -> cap.Resource:
    return cap.Resource(
        resource_desc=resource.resource_desc, mime_type=resource.mime_type, size=resource.size,
        uri=_text(resource.uri), deref_uri=_text(resource.deref_uri), digest=_text(resource.digest),
    )


def cap_info(info: AlertInfo) -> cap.Info:
    return cap.Info(
        language=info.language, categories=list(info.categories), event=info.event,
        response_types=list(info.response_types), urgency=info.urgency, severity=info.severity,
        certainty=info.certainty, audience=_text(info.audience), event_codes=_pairs(info.event_codes),
        effective=as_written(info.effective, info.effective_offset), onset=as_written(info.onset, info.onset_offset),
        expires=as_written(info.expires, info.expires_offset), sender_name=_text(info.sender_name),
        headline=_text(info.headline), description=_text(info.description), instruction=_text(info.instruction),
        web=_text(info.web), contact=_text(info.contact), parameters=_pairs(info.parameters),
        resources=[cap_resource(resource) for resource in info.resources.all()],
        areas=[cap_area(area) for area in info.areas.all()],
    )


def cap_alert(alert: Alert, *, withheld=frozenset()) -> cap.Alert:
    """The stored alert as a CAP message, without the withheld fields.

    Reads `infos` (with `resources` and `areas`) and `references` through `.all()`, so a
    caller that prefetched them (incidents.alerts.selectors) pays no further query.
    """
    removed = {WITHHELD_INFO_ELEMENTS[name]: None for name in withheld if name in WITHHELD_INFO_ELEMENTS}
    return cap.Alert(
        identifier=alert.identifier, sender=alert.sender, sent=as_written(alert.sent, alert.sent_offset),
        status=alert.status, msg_type=alert.msg_type, source=_text(alert.source), scope=alert.scope,
        restriction=_text(alert.restriction), addresses=list(alert.addresses), codes=list(alert.codes),
        note=_text(alert.note),
        references=[
            cap.Reference(reference.sender, reference.identifier, as_written(reference.sent, reference.sent_offset))
            for reference in alert.references.all()
        ],
        incidents=list(alert.cap_incidents),
        infos=[replace(cap_info(info), **removed) for info in alert.infos.all()],
    )
