"""Helpers shared by the CAP tests.

The XSD check here is deliberately independent of the library: it loads
the shipped schema file with plain lxml, so a rendering bug cannot hide
behind the same code that produced it.
"""

from functools import cache
from pathlib import Path

from lxml import etree

REPOSITORY = Path(__file__).resolve().parents[2]
DATA_DIR = Path(__file__).resolve().parent / "data"
SHIPPED_XSD = REPOSITORY / "incidents" / "alerts" / "cap" / "schema" / "CAP-v1.2.xsd"


def fixture_bytes(name: str) -> bytes:
    return (DATA_DIR / name).read_bytes()


@cache
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SHIPPED_XSD)))


def assert_valid_cap(document: bytes) -> None:
    """Fail with lxml's own messages unless ``document`` passes the OASIS CAP 1.2 XSD."""
    schema = _schema()
    tree = etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True))
    assert schema.validate(tree), [str(error) for error in schema.error_log]
