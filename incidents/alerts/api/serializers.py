"""Alerts as JSON. Alerts come in as CAP XML (parsers.py) or are drafted from an incident
(the input serializers at the end: what a commander chooses; the rest comes from the incident).

Keys are the CAP 1.2 element names in snake_case (msgType is `msg_type`); an element that
may repeat is a list under its own name (`info`, `category`, `area`, `polygon`, `geocode`…).
Optional CAP elements that are absent are null. Date-times keep the offset the sender wrote.
Polygons are lists of [lat, lon] pairs and circles give `radius_km`, as in CAP. A field the
viewer may not have (the info blocks' `contact`) is absent, not null.
"""

from rest_framework import serializers

from config.serializers import InstantField, StrictInput
from incidents.alerts import contract
from incidents.alerts.contract import LANGUAGES, RESPONSE_TYPES, SCOPES, address, no_control_characters, xml_characters
from incidents.alerts.convert import WITHHELD_INFO_ELEMENTS
from incidents.alerts.languages import language_state
from incidents.alerts.models import AlertState, SignatureStatus


class CapDateTimeField(serializers.DateTimeField):
    """An ISO 8601 date-time in the offset it was written with (not converted to ours)."""

    def to_representation(self, value):
        return value.isoformat() if value is not None else None


class CapValuePairOutput(serializers.Serializer):
    value_name = serializers.CharField()
    value = serializers.CharField()


class CapCircleOutput(serializers.Serializer):
    lat = serializers.FloatField()
    lon = serializers.FloatField()
    radius_km = serializers.FloatField()


class CapAreaOutput(serializers.Serializer):
    area_desc = serializers.CharField()
    polygon = serializers.ListField(
        source="polygons", child=serializers.ListField(child=serializers.ListField(child=serializers.FloatField())),
        help_text="Each polygon a list of [lat, lon] pairs, as CAP writes them.",
    )
    circle = CapCircleOutput(source="circles", many=True)
    geocode = CapValuePairOutput(source="geocodes", many=True)
    altitude = serializers.FloatField(allow_null=True)
    ceiling = serializers.FloatField(allow_null=True)


class CapResourceOutput(serializers.Serializer):
    resource_desc = serializers.CharField()
    mime_type = serializers.CharField()
    size = serializers.IntegerField(allow_null=True)
    uri = serializers.CharField(allow_null=True)
    deref_uri = serializers.CharField(allow_null=True)
    digest = serializers.CharField(allow_null=True)


class CapInfoOutput(serializers.Serializer):
    language = serializers.CharField()
    category = serializers.ListField(source="categories", child=serializers.CharField())
    event = serializers.CharField()
    response_type = serializers.ListField(source="response_types", child=serializers.CharField())
    urgency = serializers.CharField()
    severity = serializers.CharField()
    certainty = serializers.CharField()
    audience = serializers.CharField(allow_null=True)
    event_code = CapValuePairOutput(source="event_codes", many=True)
    effective = CapDateTimeField(allow_null=True)
    onset = CapDateTimeField(allow_null=True)
    expires = CapDateTimeField(allow_null=True)
    sender_name = serializers.CharField(allow_null=True)
    headline = serializers.CharField(allow_null=True)
    description = serializers.CharField(allow_null=True)
    instruction = serializers.CharField(allow_null=True)
    web = serializers.CharField(allow_null=True)
    contact = serializers.CharField(allow_null=True, required=False,
                                    help_text="Absent for viewers from whom contacts are withheld.")
    parameter = CapValuePairOutput(source="parameters", many=True)
    resource = CapResourceOutput(source="resources", many=True)
    area = CapAreaOutput(source="areas", many=True)


class CapReferenceOutput(serializers.Serializer):
    sender = serializers.CharField()
    identifier = serializers.CharField()
    sent = CapDateTimeField()


class AlertOutput(serializers.Serializer):
    """An incidents.alerts.selectors.AlertView: the row's facts and the CAP message as seen."""

    id = serializers.UUIDField(source="alert.id")
    identifier = serializers.CharField(source="message.identifier")
    sender = serializers.CharField(source="message.sender")
    sent = CapDateTimeField(source="message.sent")
    status = serializers.CharField(source="message.status")
    msg_type = serializers.CharField(source="message.msg_type")
    source = serializers.CharField(source="message.source", allow_null=True)
    scope = serializers.CharField(source="message.scope")
    restriction = serializers.CharField(source="message.restriction", allow_null=True)
    addresses = serializers.ListField(source="message.addresses", child=serializers.CharField())
    code = serializers.ListField(source="message.codes", child=serializers.CharField())
    note = serializers.CharField(source="message.note", allow_null=True)
    references = CapReferenceOutput(source="message.references", many=True)
    incidents = serializers.ListField(
        source="message.incidents", child=serializers.CharField(),
        help_text="CAP <incidents>: the sender's own incident names (ours is `incident`).",
    )
    exercise = serializers.BooleanField(source="alert.exercise", help_text="CAP status Exercise or Test.")
    state = serializers.ChoiceField(choices=AlertState.choices)
    signature = serializers.ChoiceField(source="alert.signature", choices=SignatureStatus.choices)
    owner = serializers.CharField(source="alert.owner_id", help_text="The jurisdiction that imported the alert.")
    cluster = serializers.CharField(source="alert.cluster_id", allow_null=True)
    level = serializers.CharField(source="alert.level", help_text="Ours, from the most severe info block.")
    category = serializers.CharField(source="alert.category", help_text="Ours (docs/cap.md), from CAP <category>.")
    affected_jurisdictions = serializers.SerializerMethodField()
    incident = serializers.SerializerMethodField()
    superseded_by = serializers.UUIDField(source="alert.superseded_by_id", allow_null=True)
    replaces = serializers.SerializerMethodField()
    received_at = serializers.DateTimeField(source="alert.received_at")
    updated_at = serializers.DateTimeField(source="alert.updated_at")
    info = CapInfoOutput(source="message.infos", many=True)
    languages_in_step = serializers.SerializerMethodField(
        help_text="False when a language block was changed since the blocks last agreed and another was not "
                  "(`languages_changed`, `languages_unchanged`); approving such a draft needs "
                  "`confirm_languages: true`. Always true for imported alerts.")
    languages_changed = serializers.SerializerMethodField(help_text="The blocks changed since they last agreed.")
    languages_unchanged = serializers.SerializerMethodField(
        help_text="The blocks left as they were, when another was changed (the ones that may now say something "
                  "else).")

    def _languages(self, view):
        return language_state(agreed=view.alert.language_fingerprints, infos=view.message.infos)

    def get_languages_in_step(self, view) -> bool:
        return self._languages(view).in_step

    def get_languages_changed(self, view) -> list[str]:
        state = self._languages(view)
        return [] if state.in_step else list(state.changed)

    def get_languages_unchanged(self, view) -> list[str]:
        state = self._languages(view)
        return [] if state.in_step else list(state.unchanged)

    def get_affected_jurisdictions(self, view) -> list[str]:
        return sorted(link.jurisdiction_id for link in view.alert.affected.all())

    def get_incident(self, view) -> str | None:
        """The public id of the incident the alert was issued from; imported alerts stand alone."""
        return view.alert.incident.public_id if view.alert.incident_id else None

    def get_replaces(self, view) -> list[str]:
        """The alerts this Update or Cancel changed (their `superseded_by` is this one)."""
        return [str(other.id) for other in view.alert.supersedes.all()]

    def to_representation(self, view):
        data = super().to_representation(view)
        for name in view.withheld:
            element = WITHHELD_INFO_ELEMENTS.get(name)
            if element:
                for info in data["info"]:
                    info.pop(element, None)
        return data


# --- issuing from an incident ---------------------------------------------------------------------
# The limits and checks are the alert's input contract (incidents.alerts.contract), which the web
# UI's forms read too; what depends on the scope or on the alert as stored is issuing's.


class AlertWordingInput(StrictInput):
    """The text of one info block; what is left out is written from the incident."""

    language = serializers.ChoiceField(choices=LANGUAGES)
    headline = serializers.CharField(max_length=contract.HEADLINE_MAX_LENGTH, required=False,
                                     validators=[no_control_characters])
    description = serializers.CharField(max_length=contract.DESCRIPTION_MAX_LENGTH, required=False,
                                        validators=[xml_characters])
    instruction = serializers.CharField(max_length=contract.INSTRUCTION_MAX_LENGTH, required=False,
                                        validators=[xml_characters])


class AlertTermsInput(StrictInput):
    """What the issuer chooses about an alert (an Update: what changes); the CAP terms, the text
    left out and the area come from the incident."""

    scope = serializers.ChoiceField(choices=SCOPES, required=False,
                                    help_text="Public (the default), Restricted (with `restriction`) or Private "
                                              "(with `addresses`).")
    restriction = serializers.CharField(max_length=contract.RESTRICTION_MAX_LENGTH, required=False,
                                        validators=[no_control_characters])
    addresses = serializers.ListField(
        child=serializers.CharField(max_length=contract.ADDRESS_MAX_LENGTH, validators=[address]),
        required=False, allow_empty=False, max_length=contract.MAX_ADDRESSES)
    response_type = serializers.ListField(child=serializers.ChoiceField(choices=RESPONSE_TYPES), required=False,
                                          max_length=len(RESPONSE_TYPES))
    expires = InstantField(required=False, help_text="In the future; without it the alert stays "
                                                                   "active until it is updated or cancelled.")
    contact = serializers.CharField(max_length=contract.CONTACT_MAX_LENGTH, required=False, allow_blank=True,
                                    validators=[no_control_characters],
                                    help_text="Withheld from viewers who may not have contacts. On an update, "
                                              "\"\" removes the alert's contact (absent: kept).")
    web = serializers.URLField(max_length=contract.WEB_MAX_LENGTH, required=False, allow_blank=True,
                               help_text="On an update, \"\" removes the alert's web address (absent: kept).")
    note = serializers.CharField(max_length=contract.NOTE_MAX_LENGTH, required=False, validators=[xml_characters])
    info = serializers.ListField(child=AlertWordingInput(), required=False, max_length=len(LANGUAGES),
                                 help_text="Headline, description and instruction per language (zh-CN and "
                                           "en-US always written; zh-HK, zh-MO when given).")


class AlertDraftInput(AlertTermsInput):
    """A draft: the incident it is about, and the issuer's choices."""

    incident = serializers.CharField(max_length=contract.INCIDENT_ID_MAX_LENGTH,
                                     help_text="The incident's public id (INC-2026-000123).")


class AlertCancelInput(StrictInput):
    """A Cancel: why, if the issuer says."""

    note = serializers.CharField(max_length=contract.NOTE_MAX_LENGTH, required=False, allow_blank=True,
                                 validators=[xml_characters],
                                 help_text="Why: the description of the Cancel's info blocks.")


class AlertApproveInput(StrictInput):
    """Approving a draft: an empty body, or the confirmation that its languages may differ."""

    confirm_languages = serializers.BooleanField(
        required=False, default=False,
        help_text="Issue the draft although its language blocks drifted apart (`languages_in_step` false); "
                  "without it such a draft is refused with 409.")


class AlertWordingEditInput(StrictInput):
    """A draft's wording changed: per language, the texts that replace the block's."""

    info = serializers.ListField(child=AlertWordingInput(), required=False, max_length=len(LANGUAGES),
                                 help_text="Per language; a text left out is kept. A zh-HK or zh-MO block not "
                                           "written yet is added.")
    languages_agree = serializers.BooleanField(
        required=False, default=False,
        help_text="The issuer checked that the blocks say the same: the drift is cleared.")
