"""Which addresses an alert may carry as its web page (CAP <info>/<web>).

CAP asks for "a full, absolute URI", and the schema takes any: `javascript:`, `data:`, `file:`.
Every reader of an alert follows that address (our pages, the CAP export, other cities'
systems, broadcasters), so we take only what a browser opens as a page: http or https, with a
host. Imports that carry another are refused (incidents.alerts.convert.check_storable), alerts
issued here cannot be given one (incidents.alerts.issuing), and the pages link only these.
"""

from urllib.parse import urlsplit

WEB_SCHEMES = ("http", "https")


def is_web_page(address: str | None) -> bool:
    """An absolute http(s) address with a host. urlsplit drops the tabs and line breaks that
    browsers drop too, so "java\\tscript:" is read as the javascript: it would open."""
    if not address:
        return False
    try:
        parts = urlsplit(address.strip())
    except ValueError:  # an unbalanced "[" in the host, for one
        return False
    return parts.scheme.lower() in WEB_SCHEMES and bool(parts.hostname)
