"""The UI's forms. They check what a browser can get wrong (required fields, numbers, ranges)
with messages in the officer's language, and shape the input as the services take it; the
services check the rules again (and the ones only they know), and `attach_errors` puts
their complaints next to the field they name. The limits (lengths, counts, bounds) are the
input contracts', the same the API takes: an incident's (incidents.contract), an alert's
(incidents.alerts.contract), mutual aid's (sharing.mutualaid.contract) and the workflows'
(coordination.workflows.contract)."""

import json
from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from config.errors import ApplicationError
from config.times import InstantFormField
from coordination.geometry import GeometryError, checked_polygon
from coordination.workflows import contract as workflow_contract
from coordination.workflows.models import TASK_MOVES, TaskStatus
from coordination.workflows.texts import localized
from incidents import contract
from incidents.alerts import contract as alert_contract
from incidents.alerts.contract import RESPONSE_TYPES, SCOPES, address, xml_characters
from incidents.alerts.languages import TRADITIONAL, language_name
from incidents.catalogue import is_type_of
from incidents.contract import no_control_characters
from incidents.lifecycle import Status
from sharing.models import DataKind
from sharing.mutualaid import contract as aid_contract
from sharing.visibility import SENSITIVE_FIELDS
from ui import labels, registry
from ui.timeline import local_name

LEVEL_CHOICES = [(level, label) for level, label in labels.LEVEL_LABELS.items()]
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class DateTimeLocalInput(forms.DateTimeInput):
    """<input type="datetime-local">: the browser's own picker, in the cluster's time zone."""

    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format=DATETIME_LOCAL)


def count_field(label) -> forms.IntegerField:
    return forms.IntegerField(label=label, min_value=0, max_value=contract.MAX_COUNT, initial=0, required=False,
                              widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 0}))


def attach_errors(form: forms.Form, exc: ApplicationError, fields: dict[str, str] | None = None) -> None:
    """A service's refusal shown next to the field it names (`fields` maps the service's names
    to the form's where they differ); anything else goes on top of the form."""
    fields = fields or {}
    if not exc.errors:
        form.add_error(None, exc.detail)
        return
    for name, messages in exc.errors.items():
        target = fields.get(name, fields.get(name.split(".")[-1], name.split(".")[-1]))
        for message in messages:
            form.add_error(target if target in form.fields else None, message)


# --- reporting an incident ------------------------------------------------------------------------


class ReportForm(forms.Form):
    AREA_KINDS = [
        ("point", _("A point (the location only)")),
        ("circle", _("A circle around the location")),
        ("polygon", _("A polygon drawn on the map")),
    ]

    title = forms.CharField(label=_("Title"), max_length=contract.TITLE_MAX_LENGTH,
                            validators=[no_control_characters])
    category = forms.ChoiceField(label=_("Category"))
    type = forms.ChoiceField(label=_("Type"))
    level = forms.ChoiceField(label=_("Level"), choices=LEVEL_CHOICES, widget=forms.RadioSelect)
    occurred_at = InstantFormField(label=_("Occurred at"), widget=DateTimeLocalInput())
    description = forms.CharField(label=_("Description"), required=False, max_length=contract.DESCRIPTION_MAX_LENGTH,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    exercise = forms.BooleanField(label=_("This is an exercise (drill), not a real incident"), required=False)
    area_kind = forms.ChoiceField(label=_("Affected area"), choices=AREA_KINDS, initial="circle",
                                  widget=forms.RadioSelect)
    lat = forms.FloatField(label=_("Latitude"), min_value=-contract.MAX_LATITUDE, max_value=contract.MAX_LATITUDE,
                           widget=forms.NumberInput(attrs={"step": "any"}))
    lon = forms.FloatField(label=_("Longitude"), min_value=-contract.MAX_LONGITUDE, max_value=contract.MAX_LONGITUDE,
                           widget=forms.NumberInput(attrs={"step": "any"}))
    radius_km = forms.FloatField(label=_("Radius (km)"), required=False, min_value=0.01,
                                 max_value=contract.MAX_CIRCLE_RADIUS_M / 1000,
                                 widget=forms.NumberInput(attrs={"step": "any"}))
    polygon = forms.CharField(label=_("Polygon (drawn on the map)"), required=False, widget=forms.HiddenInput)
    deaths = count_field(_("Deaths"))
    injured = count_field(_("Injured"))
    missing = count_field(_("Missing"))
    evacuated = count_field(_("Evacuated"))

    # Where the service's field names land on this form.
    SERVICE_FIELDS = {"location": "lat", "affected_area": "area_kind", "casualties": "deaths"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = labels.category_choices()
        self.fields["type"].choices = labels.type_choices()
        self.fields["occurred_at"].initial = timezone.localtime().replace(second=0, microsecond=0)

    def clean(self):
        cleaned = super().clean()
        category, type_ = cleaned.get("category"), cleaned.get("type")
        if category and type_ and not is_type_of(category, type_):
            self.add_error("type", _("This type is not of the category chosen."))
        kind = cleaned.get("area_kind")
        if kind == "circle" and not cleaned.get("radius_km"):
            self.add_error("radius_km", _("Give the radius of the circle, or choose another kind of area."))
        if kind == "polygon":
            cleaned["polygon_shape"] = self._polygon(cleaned.get("polygon"))
        return cleaned

    def _polygon(self, raw: str | None):
        """The map's points ([[lon, lat], …]) as a closed GeoJSON ring, held to the one polygon
        rule (coordination.geometry.checked_polygon) so the officer reads why in their language."""
        try:
            points = json.loads(raw or "")
        except (ValueError, RecursionError):  # a hand-made field: deep nesting is no JSON we read
            points = None
        if not isinstance(points, list) or len(points) < 3:
            self.add_error("area_kind", _("Draw the polygon on the map: click at least three points, then Finish."))
            return None
        ring = points + [points[0]] if points[0] != points[-1] else points
        area = {"type": "Polygon", "coordinates": [ring]}
        try:
            checked_polygon(area)
        except GeometryError as exc:
            self.add_error("area_kind", _("This polygon cannot be used: %(reason)s") % {"reason": exc})
            return None
        return area

    def report_data(self) -> dict:
        """The report as incidents.services.incident_report takes it (POST /incidents/'s shape)."""
        data = self.cleaned_data
        report = {
            "title": data["title"],
            "description": data.get("description") or "",
            "category": data["category"],
            "type": data["type"],
            "level": data["level"],
            "occurred_at": data["occurred_at"],
            "location": {"lat": data["lat"], "lon": data["lon"]},
            "exercise": bool(data.get("exercise")),
            "casualties": {name: data.get(name) or 0 for name in contract.CASUALTY_FIGURES},
        }
        if data["area_kind"] == "circle":
            report["affected_area"] = {"circle": {"lat": data["lat"], "lon": data["lon"],
                                                  "radius_m": data["radius_km"] * 1000}}
        elif data["area_kind"] == "polygon":
            report["affected_area"] = data["polygon_shape"]
        return report


# --- the incident list's filters -------------------------------------------------------------------


class IncidentFilterForm(forms.Form):
    """The list's filters; they narrow what the visibility rule already allows."""

    STATUS_OPEN = "open"
    STATUS_ANY = "any"

    status = forms.ChoiceField(label=_("Status"), required=False)
    level_at_least = forms.ChoiceField(label=_("Level at least"), required=False)
    category = forms.ChoiceField(label=_("Category"), required=False)
    jurisdiction = forms.ChoiceField(label=_("Affects"), required=False)
    cross_border = forms.ChoiceField(label=_("Cross-border"), required=False, choices=[
        ("", _("Either")), ("true", _("Cross-border only")), ("false", _("Within one jurisdiction"))])
    exercise = forms.ChoiceField(label=_("Real or drill"), required=False, choices=[
        ("", _("Both")), ("false", _("Real incidents")), ("true", _("Exercises (drills)"))])

    def __init__(self, *args, jurisdictions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [(self.STATUS_OPEN, _("Open (not closed or cancelled)")),
                                         (self.STATUS_ANY, _("Any status")), *Status.choices]
        self.fields["level_at_least"].choices = [("", _("Any level")), *labels.LEVEL_SHORT.items()]
        self.fields["category"].choices = [("", _("Any category")), *labels.category_choices()]
        self.fields["jurisdiction"].choices = [("", _("Any jurisdiction")),
                                               *((place.code, place.name) for place in jurisdictions)]

    def filter_data(self) -> dict:
        """The filters as incidents.api.filters.IncidentFilter reads them (the API's own)."""
        from incidents.lifecycle import OPEN_STATUSES

        data = {name: value for name, value in self.cleaned_data.items() if value}
        status = data.pop("status", self.STATUS_OPEN)
        if status == self.STATUS_OPEN:
            data["status"] = ",".join(sorted(OPEN_STATUSES))
        elif status != self.STATUS_ANY:
            data["status"] = status
        return data


# --- on an incident ------------------------------------------------------------------------------------


class TransitionForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"), choices=Status.choices)
    note = forms.CharField(label=_("Note"), required=False, max_length=contract.NOTE_MAX_LENGTH)


class UpdateForm(forms.Form):
    text = forms.CharField(label=_("What happened"), max_length=contract.UPDATE_TEXT_MAX_LENGTH,
                           widget=forms.Textarea(attrs={"rows": 2}))
    deaths = count_field(_("Deaths"))
    injured = count_field(_("Injured"))
    missing = count_field(_("Missing"))
    evacuated = count_field(_("Evacuated"))

    def figures(self) -> dict:
        """The figures the officer filled in (left at 0, a figure is not part of the update)."""
        return {name: self.cleaned_data[name] for name in contract.CASUALTY_FIGURES if self.cleaned_data.get(name)}


class SitrepForm(forms.Form):
    period_start = InstantFormField(label=_("Period from"), widget=DateTimeLocalInput())
    period_end = InstantFormField(label=_("Period to"), widget=DateTimeLocalInput())
    deaths = count_field(_("Deaths"))
    injured = count_field(_("Injured"))
    missing = count_field(_("Missing"))
    evacuated = count_field(_("Evacuated"))
    shelters_open = count_field(_("Shelters open"))
    resources_deployed = count_field(_("Resources deployed"))
    needs = forms.CharField(label=_("Needs"), required=False, max_length=contract.SITREP_NEEDS_MAX_LENGTH,
                            widget=forms.Textarea(attrs={"rows": 2}))
    text = forms.CharField(label=_("Situation"), required=False, max_length=contract.SITREP_TEXT_MAX_LENGTH,
                           widget=forms.Textarea(attrs={"rows": 3}))

    FIGURES = contract.SITREP_FIGURES

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        now = timezone.localtime().replace(minute=0, second=0, microsecond=0)
        self.fields["period_start"].initial = now - timedelta(hours=6)
        self.fields["period_end"].initial = now

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("period_start"), cleaned.get("period_end")
        if start and end and end <= start:
            self.add_error("period_end", _("The period must end after it starts."))
        return cleaned

    def sitrep_data(self) -> dict:
        data = self.cleaned_data
        return {
            "period_start": data["period_start"],
            "period_end": data["period_end"],
            "figures": {name: data.get(name) or 0 for name in self.FIGURES},
            "needs": data.get("needs") or "",
            "text": data.get("text") or "",
        }


class ResourceRequestForm(forms.Form):
    resource_type = forms.ChoiceField(label=_("What"))
    quantity = forms.IntegerField(label=_("How many"), min_value=1, max_value=aid_contract.MAX_QUANTITY)
    needed_by = InstantFormField(label=_("Needed by"), widget=DateTimeLocalInput())
    description = forms.CharField(label=_("Details"), required=False, max_length=aid_contract.DESCRIPTION_MAX_LENGTH,
                                  widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, resource_types=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["resource_type"].choices = [
            (rtype.code, f"{labels.name_of({'zh': rtype.name_zh, 'en': rtype.name_en}, rtype.code)} "
                         f"({registry.unit_name(rtype.unit)})")
            for rtype in resource_types
        ]
        self.fields["needed_by"].initial = (timezone.localtime() + timedelta(hours=6)).replace(
            second=0, microsecond=0)

    def request_data(self, incident: str) -> dict:
        data = self.cleaned_data
        return {"incident": incident, "resource_type": data["resource_type"], "quantity": data["quantity"],
                "needed_by": data["needed_by"], "description": data.get("description") or ""}


# --- mutual aid, joint command ------------------------------------------------------------------------


class OfferForm(forms.Form):
    quantity = forms.IntegerField(label=_("Quantity offered"), min_value=1, max_value=aid_contract.MAX_QUANTITY)
    note = forms.CharField(label=_("Note"), required=False, max_length=aid_contract.NOTE_MAX_LENGTH)


class AcceptForm(forms.Form):
    quantity = forms.IntegerField(label=_("Quantity accepted"), min_value=1, max_value=aid_contract.MAX_QUANTITY,
                                  required=False)


class LogEntryForm(forms.Form):
    text = forms.CharField(label=_("Log entry"), max_length=workflow_contract.TEXT_MAX_LENGTH,
                           widget=forms.Textarea(attrs={"rows": 2}))


class JointCommandForm(forms.Form):
    name = forms.CharField(label=_("Name (optional)"), required=False, max_length=workflow_contract.TITLE_MAX_LENGTH)


class MeetingForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=workflow_contract.TITLE_MAX_LENGTH)
    scheduled_at = InstantFormField(label=_("When"), widget=DateTimeLocalInput())
    agenda = forms.CharField(label=_("Agenda (one item a line)"), max_length=workflow_contract.AGENDA_TEXT_MAX_LENGTH,
                             widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scheduled_at"].initial = (timezone.localtime() + timedelta(hours=1)).replace(
            minute=0, second=0, microsecond=0)

    def clean_agenda(self):
        lines = [line.strip() for line in self.cleaned_data["agenda"].splitlines() if line.strip()]
        if not lines:
            raise forms.ValidationError(_("Give at least one agenda item."))
        if len(lines) > workflow_contract.MAX_AGENDA_ITEMS:
            raise forms.ValidationError(_("At most %(most)s agenda items.")
                                        % {"most": workflow_contract.MAX_AGENDA_ITEMS})
        if any(len(line) > workflow_contract.AGENDA_ITEM_MAX_LENGTH for line in lines):
            raise forms.ValidationError(_("An agenda item is at most %(most)s characters.")
                                        % {"most": workflow_contract.AGENDA_ITEM_MAX_LENGTH})
        return lines

    def agenda_for(self, incident: str) -> list[dict]:
        return [{"title": line, "incident": incident} for line in self.cleaned_data["agenda"]]


class TaskForm(forms.Form):
    title = forms.CharField(label=_("Task"), max_length=workflow_contract.TITLE_MAX_LENGTH)
    assignee = forms.ChoiceField(label=_("Assigned to"))
    due_at = InstantFormField(label=_("Due (optional)"), required=False, widget=DateTimeLocalInput())

    def __init__(self, *args, participants=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = list(participants)


class DecisionForm(forms.Form):
    text = forms.CharField(label=_("Decision"), max_length=workflow_contract.TEXT_MAX_LENGTH,
                           widget=forms.Textarea(attrs={"rows": 2}))
    agenda_item = forms.TypedChoiceField(label=_("On agenda item"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, agenda=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agenda_item"].choices = [
            ("", _("The meeting as a whole")),
            *((item.position, f"{item.position}. {_agenda_title(item)}") for item in agenda)]


def _agenda_title(item) -> str:
    """An agenda item in the officer's language: a playbook's in three languages, a default name
    translated, an officer's as written."""
    return localized(item.title_texts, get_language()) if item.title_texts else local_name(item.title)


class TaskMoveForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"), choices=[(s, TaskStatus(s).label) for s in TASK_MOVES])


# --- sharing agreements ------------------------------------------------------------------------------


class AgreementForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    grantor = forms.ChoiceField(label=_("Who shares (grantor)"))
    grantees = forms.MultipleChoiceField(label=_("With whom (grantees)"), widget=forms.CheckboxSelectMultiple)
    data_kinds = forms.MultipleChoiceField(label=_("What"), choices=DataKind.choices,
                                           widget=forms.CheckboxSelectMultiple)
    categories = forms.MultipleChoiceField(label=_("Categories (none ticked: every category)"), required=False,
                                           widget=forms.CheckboxSelectMultiple)
    level_at_least = forms.ChoiceField(label=_("From level"), choices=LEVEL_CHOICES, initial="IV")
    valid_from = InstantFormField(label=_("Valid from"), required=False, widget=DateTimeLocalInput())
    valid_until = InstantFormField(label=_("Valid until"), required=False, widget=DateTimeLocalInput())
    shared_sensitive = forms.MultipleChoiceField(
        label=_("Sensitive fields shared (unticked ones are withheld)"), required=False,
        choices=[(name, labels.SENSITIVE_FIELD_LABELS[name]) for name in sorted(SENSITIVE_FIELDS)],
        widget=forms.CheckboxSelectMultiple)

    SERVICE_FIELDS = {"withheld_fields": "shared_sensitive", "cluster": "grantor"}

    def __init__(self, *args, jurisdictions=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(place.code, place.name) for place in jurisdictions]
        self.fields["grantor"].choices = choices
        self.fields["grantees"].choices = choices
        self.fields["categories"].choices = labels.category_choices()

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("valid_from"), cleaned.get("valid_until")
        if start and end and end <= start:
            self.add_error("valid_until", _("The end must come after the start."))
        if cleaned.get("grantor") and cleaned.get("grantor") in (cleaned.get("grantees") or ()):
            self.add_error("grantees", _("The grantor sees its own data already; leave it out of the grantees."))
        return cleaned

    def terms(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data.get("name") or "",
            "grantor": data["grantor"],
            "grantees": list(data["grantees"]),
            "data_kinds": list(data["data_kinds"]),
            "categories": list(data.get("categories") or []),
            "level_at_least": data["level_at_least"],
            "valid_from": data.get("valid_from"),
            "valid_until": data.get("valid_until"),
            "withheld_fields": sorted(SENSITIVE_FIELDS - set(data.get("shared_sensitive") or [])),
        }


# --- alerts issued from an incident ----------------------------------------------------------------


# The wording of an alert's language blocks, shared by the draft and Update form (AlertTermsForm)
# and a draft's wording form (AlertWordingForm): the suffix of each language's fields.
WORDING_SUFFIX = {"zh-CN": "zh", "zh-HK": "hk", "zh-MO": "mo", "en-US": "en"}
WORDING_TEXT_FIELDS = ("headline", "description", "instruction")
_TRADITIONAL_CODES = {language: code for code, language in TRADITIONAL.items()}


class WordingBlock:
    """One language's fields, and whether the block is always shown (zh-CN, en-US) or only to
    the issuers of places that read it (zh-HK for 810000, zh-MO for 820000) or once it is filled."""

    def __init__(self, form, language: str):
        suffix = WORDING_SUFFIX[language]
        self.language, self.name = language, language_name(language)
        self.fields = [form[f"{name}_{suffix}"] for name in WORDING_TEXT_FIELDS]
        self.always = language not in _TRADITIONAL_CODES
        self.code = _TRADITIONAL_CODES.get(language, "")
        self.filled = any(field.value() for field in self.fields)


def add_wording_fields(form: forms.Form) -> None:
    for language in alert_contract.LANGUAGES:
        suffix, attrs = WORDING_SUFFIX[language], {"lang": language}
        name = language_name(language)
        form.fields[f"headline_{suffix}"] = forms.CharField(
            label=_("Headline (%(language)s)") % {"language": name}, required=False,
            max_length=alert_contract.HEADLINE_MAX_LENGTH, validators=[no_control_characters],
            widget=forms.TextInput(attrs=attrs))
        form.fields[f"description_{suffix}"] = forms.CharField(
            label=_("Description (%(language)s)") % {"language": name}, required=False,
            max_length=alert_contract.DESCRIPTION_MAX_LENGTH, validators=[xml_characters],
            widget=forms.Textarea(attrs={"rows": 3, **attrs}))
        form.fields[f"instruction_{suffix}"] = forms.CharField(
            label=_("Instruction (%(language)s)") % {"language": name}, required=False,
            max_length=alert_contract.INSTRUCTION_MAX_LENGTH, validators=[xml_characters],
            widget=forms.Textarea(attrs={"rows": 2, **attrs}))


def wording_blocks(form: forms.Form) -> list[WordingBlock]:
    return [WordingBlock(form, language) for language in alert_contract.LANGUAGES]


def wording_info(data: dict) -> list[dict]:
    """The filled texts per language, as the services take them (the API's `info`)."""
    info = []
    for language in alert_contract.LANGUAGES:
        suffix = WORDING_SUFFIX[language]
        wording = {name: data[f"{name}_{suffix}"] for name in WORDING_TEXT_FIELDS if data.get(f"{name}_{suffix}")}
        if wording:
            info.append({"language": language, **wording})
    return info


class AlertTermsForm(forms.Form):
    """What the issuer chooses about an alert (incidents.alerts.issuing.AlertTerms); the CAP
    terms, the area and any text left out come from the incident. The limits and checks are the
    alert's input contract (incidents.alerts.contract), the API's too: what CAP cannot carry never
    reaches the service."""

    scope = forms.ChoiceField(label=_("Who it is for"), initial=alert_contract.DEFAULT_SCOPE, widget=forms.RadioSelect)
    restriction = forms.CharField(label=_("Restricted to (for a restricted alert)"), required=False,
                                  max_length=alert_contract.RESTRICTION_MAX_LENGTH, validators=[no_control_characters])
    addresses = forms.CharField(label=_("Addressees (for a private alert; one a line)"), required=False,
                                max_length=alert_contract.ADDRESSES_TEXT_MAX_LENGTH,
                                widget=forms.Textarea(attrs={"rows": 2}))
    response_type = forms.MultipleChoiceField(label=_("What the public should do"), required=False,
                                              widget=forms.CheckboxSelectMultiple)
    expires = InstantFormField(label=_("Expires (optional: else until updated or cancelled)"), required=False,
                                  widget=DateTimeLocalInput())
    contact = forms.CharField(label=_("Contact number (optional)"), required=False,
                              max_length=alert_contract.CONTACT_MAX_LENGTH, validators=[no_control_characters])
    web = forms.URLField(label=_("Web page (optional)"), required=False, max_length=alert_contract.WEB_MAX_LENGTH,
                         assume_scheme="https")
    note = forms.CharField(label=_("Note to receiving systems (optional)"), required=False,
                           max_length=alert_contract.NOTE_MAX_LENGTH, validators=[xml_characters])

    # Per language of the message (zh-CN, zh-HK, zh-MO, en-US; the suffix of its fields'
    # names): left empty, written from the incident (an Update keeps the instruction it had);
    # a Traditional block left empty is not written.
    WORDING = tuple((language, WORDING_SUFFIX[language]) for language in alert_contract.LANGUAGES)
    WORDING_FIELDS = WORDING_TEXT_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scope"].choices = [(scope, labels.cap_word(scope)) for scope in SCOPES]
        self.fields["response_type"].choices = [(code, labels.RESPONSE_TYPES[code]) for code in RESPONSE_TYPES]
        add_wording_fields(self)

    def wording_blocks(self) -> list[WordingBlock]:
        """The text fields grouped by language, side by side in the template."""
        return wording_blocks(self)

    def clean_addresses(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["addresses"].splitlines() if line.strip()]
        if len(lines) > alert_contract.MAX_ADDRESSES:
            raise forms.ValidationError(_("At most %(most)s addressees.") % {"most": alert_contract.MAX_ADDRESSES})
        for line in lines:
            if len(line) > alert_contract.ADDRESS_MAX_LENGTH:
                raise forms.ValidationError(_("An addressee is at most %(most)s characters.")
                                            % {"most": alert_contract.ADDRESS_MAX_LENGTH})
            address(line)
        return lines

    def clean_expires(self):
        expires = self.cleaned_data.get("expires")
        if expires is not None and expires <= timezone.now():
            raise forms.ValidationError(_("This time has passed; an alert expires in the future."))
        return expires

    # What an Update's form shows from the alert and the officer may clear: sent even when empty
    # (the service keeps what is not given, and "" or [] clears it).
    CLEARABLE = ("response_type", "contact", "web")

    def terms(self, *, update: bool = False) -> dict:
        """The choices as incidents.alerts.issuing takes them (the API's shape). What is left
        empty is not given, except on an Update, whose form starts from the alert's terms: a
        field of CLEARABLE the officer emptied is cleared."""
        data = self.cleaned_data
        terms = {name: data[name] for name in ("scope", "restriction", "addresses", "response_type", "expires",
                                                "contact", "web", "note") if data.get(name)}
        if update:
            terms.update({name: data.get(name) or ([] if name == "response_type" else "")
                          for name in self.CLEARABLE if name not in terms})
        info = wording_info(data)
        if info:
            terms["info"] = info
        return terms


class AlertWordingForm(forms.Form):
    """A draft's language blocks, side by side, started from their texts: what the officer
    changes replaces the block's text (incidents.alerts.issuing.alert_edit_draft)."""

    languages_agree = forms.BooleanField(
        label=_("I have checked that the languages say the same"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        add_wording_fields(self)

    @classmethod
    def of(cls, infos) -> "AlertWordingForm":
        initial = {}
        for info in infos:
            suffix = WORDING_SUFFIX.get(info.language)
            if suffix:
                initial.update({f"{name}_{suffix}": getattr(info, name) or "" for name in WORDING_TEXT_FIELDS})
        return cls(initial=initial)

    def wording_blocks(self) -> list[WordingBlock]:
        return wording_blocks(self)

    def data_for_service(self) -> dict:
        return {"info": wording_info(self.cleaned_data), "languages_agree": self.cleaned_data["languages_agree"]}


class AlertApproveForm(forms.Form):
    """Approving a draft; when its languages drifted apart, the officer confirms it."""

    confirm_languages = forms.BooleanField(
        label=_("Issue it although the languages differ"), required=False)


class AlertCancelForm(forms.Form):
    note = forms.CharField(label=_("Why (optional: the cancellation's description)"), required=False,
                           max_length=alert_contract.NOTE_MAX_LENGTH, validators=[xml_characters])
