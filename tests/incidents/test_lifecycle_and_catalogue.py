"""The lifecycle and the catalogue are data; these pin what docs/api.md promises about them."""

from incidents import lifecycle
from incidents.catalogue import ALL_TYPES, CATEGORY_LABELS, TYPES, Category, catalogue_as_data, is_type_of
from incidents.lifecycle import Status


def test_the_lifecycle_runs_reported_verified_responding_contained_closed():
    path = [Status.REPORTED, Status.VERIFIED, Status.RESPONDING, Status.CONTAINED, Status.CLOSED]
    for current, target in zip(path, path[1:], strict=False):
        assert lifecycle.may_move(current, target)


def test_it_cancels_from_every_open_state_and_never_from_a_final_one():
    assert lifecycle.OPEN_STATUSES == {Status.REPORTED, Status.VERIFIED, Status.RESPONDING, Status.CONTAINED}
    for status in lifecycle.OPEN_STATUSES:
        assert lifecycle.may_move(status, Status.CANCELLED)
    for final in (Status.CLOSED, Status.CANCELLED):
        assert not lifecycle.is_open(final)
        assert all(not lifecycle.may_move(final, target) for target in Status.values)


def test_it_neither_skips_nor_goes_back():
    assert not lifecycle.may_move(Status.REPORTED, Status.RESPONDING)
    assert not lifecycle.may_move(Status.CONTAINED, Status.RESPONDING)
    assert not lifecycle.may_move(Status.REPORTED, Status.CLOSED)


def test_every_status_has_its_moves_declared():
    assert set(lifecycle.MOVES) == set(Status.values)


def test_the_catalogue_has_the_four_categories_with_labels_in_both_languages():
    assert set(TYPES) == set(Category.values) == set(CATEGORY_LABELS)
    for category in catalogue_as_data():
        assert category["name_zh"] and category["name_en"] and category["types"]
        assert all(t["name_zh"] and t["name_en"] for t in category["types"])


def test_a_type_belongs_to_exactly_one_category():
    assert len(ALL_TYPES) == sum(len(types) for types in TYPES.values())
    assert is_type_of("accident", "hazmat") and not is_type_of("natural_disaster", "hazmat")
    for name in ("flood", "typhoon", "earthquake", "landslide", "fire", "hazmat", "explosion", "traffic",
                 "epidemic", "food_safety", "mass_gathering"):
        assert name in ALL_TYPES
