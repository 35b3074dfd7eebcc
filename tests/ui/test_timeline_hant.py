"""A Traditional reader (Hong Kong, Macao) reads the timeline's names in Traditional characters
(issue 19): jurisdictions, coordination bodies and clusters by their name_zh_hant, a playbook's
text in its zh-hant; a Simplified reader reads the Simplified ones."""

import pytest
from django.utils import translation

from tests.conftest import HONG_KONG, SHENZHEN
from tests.ui.conftest import cross_border_area
from tests.ui.test_timeline_notes import timeline_of, write

pytestmark = pytest.mark.django_db

COMMITTEE = "GBA-COMMITTEE"
REASON = {"zh-hans": "香港特别行政区未在时限内确认", "zh-hant": "香港特別行政區未在時限內確認",
          "en": "Hong Kong did not acknowledge in time"}


def names(model, code: str) -> tuple[str, str]:
    row = model.objects.get(pk=code)
    assert row.name_zh_hant and row.name_zh_hant != row.name_zh  # the demo cluster gives both
    return row.name_zh, row.name_zh_hant


@pytest.mark.parametrize("language", ["zh-hans", "zh-hant"])
def test_the_timeline_names_jurisdictions_bodies_and_texts_in_the_readers_script(browse_as, reported, language):
    from coordination.models import CoordinationBody, Jurisdiction
    from coordination.workflows.texts import pair

    incident = reported(SHENZHEN, level="II", affected_area=cross_border_area())
    write(incident, "ack.received_for_body", body=COMMITTEE, jurisdiction=HONG_KONG)
    write(incident, "escalation.committee", body=COMMITTEE, stage=3, reason=pair(REASON))
    html = timeline_of(browse_as(SHENZHEN, "commander", language=language), incident)
    traditional = language == "zh-hant"
    for model, code in ((Jurisdiction, HONG_KONG), (CoordinationBody, COMMITTEE)):
        simplified, hant = names(model, code)
        assert (hant if traditional else simplified) in html, (code, html[:3000])
        assert (simplified if traditional else hant) not in html
    assert REASON[language] in html


def test_a_cluster_in_a_note_is_named_in_the_readers_script(gba):
    from coordination.models import Cluster
    from ui.timeline import _cluster

    simplified, hant = names(Cluster, "GBA")
    with translation.override("zh-hant"):
        assert _cluster("GBA") == hant
    with translation.override("zh-hans"):
        assert _cluster("GBA") == simplified
