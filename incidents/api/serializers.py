"""Input serializers shape what callers send (types, lengths, ranges), with the limits the
incidents' input contract declares (incidents.contract, which the web UI's forms read too); the
contract's rules are checked again by the services, and what only they know (who may, the
lifecycle, the placement) is theirs. Output serializers document what the API answers: the data itself is
built by incidents.payloads (the same dicts the events carry), and a test keeps the two equal.
"""

import math

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from config.schema import PayloadOutput
from config.serializers import InstantField, StrictInput, validated
from incidents import contract
from incidents.catalogue import TYPE_CHOICES, Category
from incidents.contract import no_control_characters
from incidents.contract_fast import plain_report
from incidents.lifecycle import Status
from sharing.event_schemas.incidents import (
    AFFECTED_AREA,
    IncidentData,
    JointSitrepData,
    SitrepData,
    SitrepFigures,
    TimelineEntryData,
)
from sharing.models import Level


class NumberField(serializers.FloatField):
    """A JSON number: not a string, not a boolean, not NaN or infinity."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, float)) or not math.isfinite(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class CountField(serializers.IntegerField):
    def __init__(self, **kwargs):
        super().__init__(min_value=0, max_value=contract.MAX_COUNT, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class LocationInput(StrictInput):
    lat = NumberField(min_value=-contract.MAX_LATITUDE, max_value=contract.MAX_LATITUDE)
    lon = NumberField(min_value=-contract.MAX_LONGITUDE, max_value=contract.MAX_LONGITUDE)


class CasualtiesInput(StrictInput):
    deaths = CountField(required=False)
    injured = CountField(required=False)
    missing = CountField(required=False)
    evacuated = CountField(required=False)


class CasualtyDetailInput(StrictInput):
    """Personal data of one casualty: withheld from other jurisdictions by default."""

    name = serializers.CharField(
        max_length=contract.PERSON_NAME_MAX_LENGTH, required=False, validators=[no_control_characters]
    )
    gender = serializers.ChoiceField(choices=list(contract.GENDERS), required=False)
    age = serializers.IntegerField(min_value=0, max_value=contract.MAX_AGE, required=False)
    condition = serializers.ChoiceField(choices=list(contract.CASUALTY_CONDITIONS))
    location = serializers.CharField(max_length=contract.CASUALTY_LOCATION_MAX_LENGTH, required=False, allow_blank=True)
    note = serializers.CharField(max_length=contract.CASUALTY_NOTE_MAX_LENGTH, required=False, allow_blank=True)


class ContactInput(StrictInput):
    name = serializers.CharField(max_length=contract.PERSON_NAME_MAX_LENGTH, validators=[no_control_characters])
    role = serializers.CharField(max_length=contract.CONTACT_ROLE_MAX_LENGTH, required=False, allow_blank=True)
    phone = serializers.RegexField(contract.PHONE_PATTERN, max_length=contract.PHONE_MAX_LENGTH)


# The area's shape as the wire declares it (the same on the way in and out); null clears it.
AFFECTED_AREA_SCHEMA = {**AFFECTED_AREA, "nullable": True}


@extend_schema_field(AFFECTED_AREA_SCHEMA)
class AffectedAreaField(serializers.JSONField):
    """Checked by incidents.areas (shape, closed rings, validity, vertices, radius)."""


class IncidentInput(StrictInput):
    """A report; its fields in the contract's order (contract.REPORT_FIELDS), the first six required."""

    title = serializers.CharField(max_length=contract.TITLE_MAX_LENGTH, validators=[no_control_characters])
    description = serializers.CharField(max_length=contract.DESCRIPTION_MAX_LENGTH, required=False, allow_blank=True)
    category = serializers.ChoiceField(choices=Category.choices)
    type = serializers.ChoiceField(choices=TYPE_CHOICES)
    level = serializers.ChoiceField(choices=Level.choices)
    occurred_at = InstantField()
    location = LocationInput()
    affected_area = AffectedAreaField(required=False, allow_null=True)
    casualties = CasualtiesInput(required=False)
    casualty_details = serializers.ListField(
        child=CasualtyDetailInput(), max_length=contract.MAX_CASUALTY_DETAILS, required=False
    )
    contacts = serializers.ListField(child=ContactInput(), max_length=contract.MAX_CONTACTS, required=False)
    external_id = serializers.CharField(
        max_length=contract.EXTERNAL_ID_MAX_LENGTH, required=False, validators=[no_control_characters]
    )
    exercise = serializers.BooleanField(required=False)


def incident_input(data) -> dict:
    """A report (POST /incidents/, an item of bulk/) as IncidentInput validates it; its
    ValidationError for anything it refuses. A plain report is checked by the contract's fast
    twin (incidents.contract_fast), which gives the same data at a fraction of the cost."""
    plain = plain_report(data)
    return plain if plain is not None else validated(IncidentInput, data)


class IncidentChangeInput(StrictInput):
    """PATCH: any of the report's fields but the idempotency key and the exercise flag."""

    title = serializers.CharField(
        max_length=contract.TITLE_MAX_LENGTH, required=False, validators=[no_control_characters]
    )
    description = serializers.CharField(max_length=contract.DESCRIPTION_MAX_LENGTH, required=False, allow_blank=True)
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    type = serializers.ChoiceField(choices=TYPE_CHOICES, required=False)
    level = serializers.ChoiceField(choices=Level.choices, required=False)
    occurred_at = InstantField(required=False)
    location = LocationInput(required=False)
    affected_area = AffectedAreaField(required=False, allow_null=True)
    casualties = CasualtiesInput(required=False)
    casualty_details = serializers.ListField(
        child=CasualtyDetailInput(), max_length=contract.MAX_CASUALTY_DETAILS, required=False
    )
    contacts = serializers.ListField(child=ContactInput(), max_length=contract.MAX_CONTACTS, required=False)


class TimelineUpdateInput(StrictInput):
    text = serializers.CharField(max_length=contract.UPDATE_TEXT_MAX_LENGTH)
    figures = CasualtiesInput(required=False)


class TransitionInput(StrictInput):
    status = serializers.ChoiceField(choices=Status.choices)
    note = serializers.CharField(
        max_length=contract.NOTE_MAX_LENGTH, required=False, allow_blank=True, default="",
        help_text=f"Written on the timeline. Required to close or cancel (at least {contract.CLOSING_NOTE_MIN_LENGTH} "
                  "characters): the closing note.",
    )


class JurisdictionAddInput(StrictInput):
    jurisdiction = serializers.RegexField(
        contract.JURISDICTION_CODE_PATTERN, error_messages={"invalid": "A GB/T 2260 code: six digits."}
    )


class SitrepFiguresInput(StrictInput):
    deaths = CountField(required=False)
    injured = CountField(required=False)
    missing = CountField(required=False)
    evacuated = CountField(required=False)
    shelters_open = CountField(required=False)
    resources_deployed = CountField(required=False)


class SitrepInput(StrictInput):
    period_start = InstantField()
    period_end = InstantField()
    figures = SitrepFiguresInput(required=False)
    needs = serializers.CharField(max_length=contract.SITREP_NEEDS_MAX_LENGTH, required=False, allow_blank=True)
    text = serializers.CharField(max_length=contract.SITREP_TEXT_MAX_LENGTH, required=False, allow_blank=True)
    exercise = serializers.BooleanField(required=False)


# --- outputs (documentation of incidents.payloads) --------------------------------------------


class IncidentOutput(PayloadOutput):
    """incidents.payloads.incident_data, declared once: the event schema the incident events
    carry (sharing.event_schemas.incidents.IncidentData); this component is derived from it."""

    payload = IncidentData


# The incidents API published its answers with the suffix, as the payloads' components are
# (config.schema.AutoSchema.get_serializer_name drops it for the other apps' answers).
@extend_schema_serializer(component_name="IncidentPageOutput")
class IncidentPageOutput(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="The next page (a cursor), null on the last.")
    results = IncidentOutput(many=True)


class TimelineEntryOutput(PayloadOutput):
    """incidents.payloads.timeline_entry_data, declared once (sharing.event_schemas.incidents)."""

    payload = TimelineEntryData


class SitrepFiguresOutput(PayloadOutput):
    payload = SitrepFigures


class SitrepOutput(PayloadOutput):
    """incidents.payloads.sitrep_data, declared once (sharing.event_schemas.incidents)."""

    payload = SitrepData


class JointSitrepOutput(PayloadOutput):
    """incidents.selectors.joint_sitrep_read_by, declared once (sharing.event_schemas.incidents)."""

    payload = JointSitrepData


@extend_schema_serializer(component_name="ProblemOutput")
class ProblemOutput(serializers.Serializer):
    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


@extend_schema_serializer(component_name="BulkResultOutput")
class BulkResultOutput(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.IntegerField(help_text="201 created, 200 existing (changed or not), 4xx refused.")
    incident = IncidentOutput(required=False)
    problem = ProblemOutput(required=False)


@extend_schema_serializer(component_name="BulkOutput")
class BulkOutput(serializers.Serializer):
    created = serializers.IntegerField()
    existing = serializers.IntegerField()
    failed = serializers.IntegerField()
    results = BulkResultOutput(many=True)


@extend_schema_serializer(component_name="CatalogueTypeOutput")
class CatalogueTypeOutput(serializers.Serializer):
    code = serializers.CharField()
    name_zh = serializers.CharField()
    name_en = serializers.CharField()


@extend_schema_serializer(component_name="CatalogueCategoryOutput")
class CatalogueCategoryOutput(serializers.Serializer):
    code = serializers.CharField()
    name_zh = serializers.CharField()
    name_en = serializers.CharField()
    types = CatalogueTypeOutput(many=True)
