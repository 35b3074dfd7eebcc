"""XML plumbing shared by parsing, rendering and signature checking.

Everything that touches lxml's parser or the CAP schema goes through here, so
that the hardening options and the schema exist in exactly one place.
"""

import threading
from functools import cache
from importlib import resources

from lxml import etree

CAP_NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
XMLDSIG_NAMESPACE = "http://www.w3.org/2000/09/xmldsig#"


def cap_tag(local_name: str) -> str:
    """Clark notation ("{namespace}name") for a CAP 1.2 element."""
    return f"{{{CAP_NAMESPACE}}}{local_name}"


def local_name(tag: str) -> str:
    """The element name without its namespace, as people write it in messages."""
    return tag.rpartition("}")[2]


def hardened_parser(*, keep_comments: bool) -> etree.XMLParser:
    """A parser that never loads a DTD, never expands entities and never touches the network.

    A new parser per call because lxml parsers must not be shared between
    threads. Comments are dropped when reading alert content (so that
    ``a<!-- -->b`` reads as ``ab``) but kept for signature checking, where a
    "#WithComments" canonicalisation signs them.
    """
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=not keep_comments,
        remove_pis=not keep_comments,
    )


@cache
def _cap_schema() -> etree.XMLSchema:
    """The OASIS CAP 1.2 schema shipped with this package, loaded once per process."""
    xsd = resources.files(__package__).joinpath("schema", "CAP-v1.2.xsd").read_bytes()
    return etree.XMLSchema(etree.fromstring(xsd, hardened_parser(keep_comments=False)))


# lxml keeps a validator's error log on the validator object itself, so two
# threads validating with the one shared schema would read each other's errors.
_schema_lock = threading.Lock()


def schema_errors(document: etree._Element | etree._ElementTree) -> list[etree._LogEntry]:
    """Validate against the CAP 1.2 XSD; return its errors (empty when valid)."""
    schema = _cap_schema()
    with _schema_lock:
        if schema.validate(document):
            return []
        return list(schema.error_log)


def readable_schema_message(message: str) -> str:
    """Drop the CAP namespace from an lxml message: "Element 'status': ..." reads better."""
    return message.replace(f"{{{CAP_NAMESPACE}}}", "")
