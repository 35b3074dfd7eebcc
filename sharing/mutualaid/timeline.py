"""What mutual aid writes on an incident's timeline (kind "mutual_aid"), kept as the playbooks
keep theirs (coordination.workflows.timeline): a stable message code and its parameters in the
entry's `data` ({"resource_request": pk, "code": …, "params": {…}}), so that a reader writes
the line in its own language (the web UI: ui/timeline.py), with names for codes and times in
its own format. The entry's `text` is the message in English, for API clients, as it always
was: codes and ISO 8601 times as they are.

NOTES is the one registry of these messages; each template is the English text and the msgid
its translations are made from (locale/). PARAM_KINDS says what a parameter holds.
"""

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext_noop

NOTES: dict[str, str] = {
    "aid.requested": gettext_noop(
        "%(requester)s asks for mutual aid: %(quantity)s %(unit)s of %(resource_type)s, needed by %(needed_by)s."),
    "aid.widened": gettext_noop("Mutual-aid request #%(request)s sent to the whole %(cluster)s."),
    "aid.cancelled": gettext_noop("Mutual-aid request #%(request)s cancelled by %(by)s."),
    "aid.cancelled_with_reason": gettext_noop("Mutual-aid request #%(request)s cancelled by %(by)s. %(reason)s"),
    "aid.offered": gettext_noop("%(supplier)s offers %(quantity)s %(unit)s for mutual-aid request #%(request)s."),
    "aid.accepted": gettext_noop("%(requester)s accepts %(quantity)s %(unit)s from %(supplier)s: committed."),
    # A move of commitments along the lifecycle (sharing.mutualaid.lifecycle.STEPS), by its target.
    "aid.dispatched": gettext_noop("Mutual aid #%(request)s: %(quantity)s %(unit)s dispatched (%(suppliers)s)."),
    "aid.arrived": gettext_noop("Mutual aid #%(request)s: %(quantity)s %(unit)s arrived (%(suppliers)s)."),
    "aid.released": gettext_noop("Mutual aid #%(request)s: %(quantity)s %(unit)s released (%(suppliers)s)."),
    "aid.returned": gettext_noop("Mutual aid #%(request)s: %(quantity)s %(unit)s returned (%(suppliers)s)."),
}

# What a parameter holds, by its name. Not named here: numbers and free text, shown as they are.
PARAM_KINDS: dict[str, str] = {
    "requester": "place",  # a jurisdiction's GB/T 2260 code
    "supplier": "place",
    "by": "place",
    "suppliers": "places",  # a list of codes
    "cluster": "cluster",  # a cluster's code
    "resource_type": "resource_type",  # a code of the mutual-aid catalogue
    "unit": "unit",  # a unit code of the catalogue (sharing.mutualaid.catalogue.units)
    "needed_by": "time",  # ISO 8601
}


def aid_note(code: str, *, english: Mapping[str, str] | None = None, **params: Any) -> tuple[str, dict]:
    """(the English text, the `data` note) of a mutual-aid timeline entry. `english` gives the
    English text's word for a parameter where it is not the value itself (a resource type's
    names rather than its code)."""
    if code not in NOTES:
        raise KeyError(f"no mutual-aid timeline note {code!r} (sharing.mutualaid.timeline.NOTES)")
    words = {name: ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
             for name, value in params.items()}
    text = NOTES[code] % {**words, **(english or {})}
    return text, {"code": code, "params": {name: list(value) if isinstance(value, tuple) else value
                                           for name, value in params.items()}}
