"""An alert's input contract, declared once: what an issuer may send to draft an alert from an
incident, update it or cancel it (POST /api/v1/alerts/, …/update/, …/cancel/, and the incident
page's alert forms).

Both edges take their limits and checks from here: the API's input serializers
(incidents/alerts/api/serializers.py, which the OpenAPI document publishes) and the web UI's
forms (ui/forms.py, AlertTermsForm and AlertCancelForm), so the two accept the same. The values
are CAP's where CAP has one (its scopes, response types, the languages we write) and ours where
it leaves the length open.

The area is not an input: an alert's area is the incident's (incidents.alerts.compose). What
stays in incidents.alerts.issuing is what depends on the scope chosen and on the alert as
stored: a Restricted alert needs its restriction, a Private one its addresses, an Update keeps
what is not given, an expiry must lie ahead.
"""

from django.core.validators import RegexValidator

from incidents.alerts.cap.model import RESPONSE_TYPES, SCOPES  # noqa: F401 (the edges' choices)
from incidents.alerts.compose import LANGUAGES  # noqa: F401 (the wording's languages, zh-CN and en-US)
from incidents.contract import no_control_characters  # noqa: F401 (a one-line text: restriction, headline, contact)

# --- limits ------------------------------------------------------------------------------------

INCIDENT_ID_MAX_LENGTH = 32  # a public id, INC-2026-000123
DEFAULT_SCOPE = "Public"

# The wording of one info block (per language); left out, it is written from the incident.
HEADLINE_MAX_LENGTH = 160  # CAP advises under 160 characters (SMS-sized)
DESCRIPTION_MAX_LENGTH = 4_000
INSTRUCTION_MAX_LENGTH = 2_000

RESTRICTION_MAX_LENGTH = 500
ADDRESS_MAX_LENGTH = 200  # one addressee of a Private alert
MAX_ADDRESSES = 100
CONTACT_MAX_LENGTH = 200
WEB_MAX_LENGTH = 500
NOTE_MAX_LENGTH = 1_000  # a note to receiving systems; a Cancel's, its description

# The UI takes the addressees one a line in a text area: room for every addressee at its
# longest with a line break (CR LF, as browsers send it) after each.
ADDRESSES_TEXT_MAX_LENGTH = MAX_ADDRESSES * (ADDRESS_MAX_LENGTH + 2)

# --- the checks --------------------------------------------------------------------------------

# Text CAP carries in XML: line breaks and tabs, but no other control character (XML 1.0 has
# no way to write them).
xml_characters = RegexValidator(r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]*$",
                                "Control characters are not allowed.")
# One entry of CAP's space-separated <addresses>: quoted when it has spaces, so no quote in it.
address = RegexValidator(r'^[^"\x00-\x1f]+$', "An address without quotes or control characters.")
