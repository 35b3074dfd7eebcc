"""Who may read someone's contact details: the officer, the commanders of their jurisdiction,
the coordinators of its clusters. Nobody else, whatever sharing agreements say (one that names
"contacts" included). A read of someone else's is audited; one's own is not."""

import pytest

from config.errors import NotFound
from coordination.authentication import principal_for_user
from coordination.models import AuditEntry, Jurisdiction
from coordination.people import selectors, services
from tests.conftest import DONGGUAN, HONG_KONG, SHENZHEN

pytestmark = pytest.mark.django_db


@pytest.fixture
def target(sz_officer):
    services.contact_add(actor=None, officer=sz_officer, channel="sms", address="+8613800138000")
    return sz_officer


def reader(make_officer, name, jurisdiction, role):
    return principal_for_user(make_officer(name, jurisdiction, role)).with_ip("127.0.0.1")


@pytest.mark.parametrize("jurisdiction, role, sees", [
    (SHENZHEN, "viewer", False),
    (SHENZHEN, "operator", False),
    (SHENZHEN, "commander", True),
    (SHENZHEN, "coordinator", True),
    (DONGGUAN, "commander", False),  # a neighbour's commander
    (DONGGUAN, "coordinator", True),  # a coordinator of GBA, which Shenzhen is in
    (HONG_KONG, "coordinator", True),
    (HONG_KONG, "commander", False),
])
def test_the_matrix(target, make_officer, jurisdiction, role, sees):
    principal = reader(make_officer, f"r-{jurisdiction}-{role}", jurisdiction, role)
    if sees:
        assert [m.address for m in selectors.contacts_visible_to(principal=principal, officer=target.pk)] == [
            "+8613800138000"]
    else:
        with pytest.raises(NotFound):
            selectors.contacts_visible_to(principal=principal, officer=target.pk)


def test_a_coordinator_of_another_cluster_does_not_see(target, make_officer):
    from coordination.models import Cluster

    cluster, _ = Cluster.objects.get_or_create(code="JJJ", defaults={"name_zh": "京津冀城市群",
                                                                     "name_en": "Beijing-Tianjin-Hebei"})
    elsewhere = Jurisdiction.objects.create(code="110000", name_zh="北京市", name_en="Beijing", level="province")
    elsewhere.clusters.add(cluster)
    principal = reader(make_officer, "far-coordinator", elsewhere.code, "coordinator")
    with pytest.raises(NotFound):
        selectors.contacts_visible_to(principal=principal, officer=target.pk)


def test_a_sharing_agreement_grants_no_contacts(target, make_officer):
    from sharing.services import agreement_create

    agreement_create(actor=None, name="深圳—东莞全部共享", grantor=SHENZHEN, grantees=[DONGGUAN],
                     data_kinds=["incidents", "sitreps", "resources", "contacts"], withheld_fields=[])
    for role in ("viewer", "operator", "commander"):
        principal = reader(make_officer, f"dg-{role}", DONGGUAN, role)
        with pytest.raises(NotFound):
            selectors.contacts_visible_to(principal=principal, officer=target.pk)


def test_api_clients_never_see(target, principal_for):
    with pytest.raises(NotFound):
        selectors.contacts_visible_to(principal=principal_for(SHENZHEN), officer=target.pk)


def test_reading_another_persons_details_is_audited_and_ones_own_is_not(target, make_officer):
    own = principal_for_user(target).with_ip("127.0.0.1")
    selectors.contacts_visible_to(principal=own, officer=target.pk)
    assert not AuditEntry.objects.filter(action="contacts.read").exists()
    commander = reader(make_officer, "sz-commander", SHENZHEN, "commander")
    selectors.contacts_visible_to(principal=commander, officer=target.pk)
    entry = AuditEntry.objects.get(action="contacts.read")
    assert (entry.actor, entry.object_type, entry.object_id, entry.object_jurisdiction, entry.ip) == (
        "sz-commander", "user", str(target.pk), SHENZHEN, "127.0.0.1")
    assert entry.detail == {"username": "sz-duty", "methods": 1}
    assert "+8613800138000" not in str(entry.detail)


def test_an_unknown_officer_is_not_found(make_officer):
    principal = reader(make_officer, "gd-coordinator", SHENZHEN, "coordinator")
    with pytest.raises(NotFound):
        selectors.contacts_visible_to(principal=principal, officer=987654)
    assert not AuditEntry.objects.filter(action="contacts.read").exists()
