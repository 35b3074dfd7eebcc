"""The forms of stock (issue 19): recording a resource type's stock for the officer's own
jurisdiction and correcting a row of it. They check what a browser can get wrong, with the
limits of mutual aid's input contract (sharing.mutualaid.contract, which the API and the services read too);
sharing.mutualaid.services.inventories decides the rest, and `service_error` puts what it
refuses next to the field, in the officer's language."""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.errors import ApplicationError, Conflict
from sharing.mutualaid.contract import MAX_QUANTITY, PLACE_NAME_MAX_LENGTH
from ui import labels, registry


def _type_choices() -> list[tuple[str, str]]:
    """The catalogue's types, each named with its unit in the reader's language ("冲锋舟（艘）")."""
    choices = []
    for code, rtype in registry.resource_types().items():
        name = labels.name_of({"zh": rtype.name_zh, "en": rtype.name_en}, code)
        unit = registry.unit_name(rtype.unit)
        choices.append((code, _("%(resource)s (%(unit)s)") % {"resource": name, "unit": unit}))
    return [("", "—"), *sorted(choices, key=lambda choice: choice[1])]


class StockCorrectForm(forms.Form):
    """A correction of one of our rows: the quantity on hand, the depot."""

    on_hand = forms.IntegerField(label=gettext_lazy("Quantity on hand"), min_value=0, max_value=MAX_QUANTITY)
    location = forms.CharField(label=gettext_lazy("Depot or place (optional)"), required=False,
                               max_length=PLACE_NAME_MAX_LENGTH)

    def data_for(self, inventory: dict) -> dict:
        """What the service is asked to change: the quantity, and the place only when its name
        changed (sending the same name again would drop the depot's coordinates)."""
        data = {"on_hand": self.cleaned_data["on_hand"]}
        location = self.cleaned_data["location"].strip()
        if location != (inventory.get("location") or {}).get("name", ""):
            data["location"] = location
        return data


class StockRecordForm(StockCorrectForm):
    """A new row of our stock: a type of the catalogue, counted in the type's own unit."""

    resource_type = forms.ChoiceField(label=gettext_lazy("Resource type"), choices=_type_choices)
    field_order = ["resource_type", "on_hand", "location"]

    def data_for_service(self) -> dict:
        data = {"resource_type": self.cleaned_data["resource_type"], "on_hand": self.cleaned_data["on_hand"]}
        if self.cleaned_data["location"].strip():
            data["location"] = self.cleaned_data["location"].strip()
        return data


def service_error(form: forms.Form, exc: ApplicationError) -> None:
    """What the service refused, on the field it names, in the officer's language (the service's
    own text is English for the API's callers)."""
    fields = sorted(exc.errors or {})
    field = fields[0].split(".")[0] if fields else None
    if isinstance(exc, Conflict) and "committed" in exc.extra:
        form.add_error("on_hand", _(
            "%(committed)s of this stock are committed to mutual aid; the quantity on hand cannot go below that.",
        ) % {"committed": exc.extra["committed"]})
    elif field == "on_hand":
        form.add_error("on_hand", _("Enter a whole number from 0 to %(most)s.") % {"most": MAX_QUANTITY})
    elif field == "location":
        form.add_error("location", _("A place name of at most %(most)s characters, on one line.")
                       % {"most": PLACE_NAME_MAX_LENGTH})
    elif field == "resource_type" and "resource_type" in form.fields:
        form.add_error("resource_type", _("Choose a resource type of the catalogue."))
    else:
        form.add_error(None, _("The stock could not be saved; reload the page and try again."))
