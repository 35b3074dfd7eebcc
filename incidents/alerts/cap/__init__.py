"""OASIS Common Alerting Protocol (CAP) 1.2: read, check, verify and write alert messages.

Pure Python on lxml and signxml, with no Django in it, so that the import
service, the API and command-line tools share one definition of what an
acceptable alert is:

* :func:`parse_cap` turns untrusted bytes into an :class:`Alert` or raises
  :class:`CapRejected` with a code, a reason, and where available a line and
  element;
* :func:`verify_signature` says whether the alert's own XML signature holds;
* :func:`render_cap` writes an :class:`Alert` as a CAP 1.2 document that
  passes the OASIS schema shipped in ``schema/``.
"""

from .model import Alert, Area, Circle, Info, Reference, Resource, ValuePair
from .parsing import CapRejected, parse_cap
from .rendering import render_cap
from .signature import verify_signature

__all__ = [
    "Alert",
    "Area",
    "CapRejected",
    "Circle",
    "Info",
    "Reference",
    "Resource",
    "ValuePair",
    "parse_cap",
    "render_cap",
    "verify_signature",
]
