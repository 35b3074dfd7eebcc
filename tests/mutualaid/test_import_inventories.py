"""`manage.py import_inventories FILE.csv --jurisdiction CODE`: a row at a time, a report per row,
a progress bar; bad rows are reported and skipped, the others land; importing again changes
only what changed."""

import io

import pytest
from django.core.management import CommandError, call_command

from sharing.mutualaid.models import Inventory, InventoryMovement
from tests.conftest import ZHUHAI

pytestmark = pytest.mark.django_db

GOOD_AND_BAD = """\ufeffresource_type,on_hand,unit,location,lat,lon,external_id,contact_name,contact_phone
drainage_pump,12,set,香洲储备库,22.27,113.57,zh-pump-1,值班室,+86 756 000 0000
sandbag,5000,,斗门仓库,,,,,
teleporter,3,,,,,,,
rescue_boat,-2,,,,,,,
tent,40,kg,,,,,,
generator,6,,nowhere,95,113,,,

ambulance,many,,,,,,,
"""


def run(tmp_path, text: str, *args):
    path = tmp_path / "stock.csv"
    path.write_text(text, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_inventories", str(path), "--jurisdiction", ZHUHAI, *args, stdout=out, stderr=err)
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), exc
    return out.getvalue(), err.getvalue(), None


def test_it_imports_the_good_rows_and_reports_every_row(world, tmp_path):
    out, err, failure = run(tmp_path, GOOD_AND_BAD)
    assert "5 row(s) were not imported" in str(failure)
    lines = out.splitlines()
    assert lines[0].startswith("line 2: created: inventory ") and "drainage_pump on hand 12" in lines[0]
    assert lines[1].startswith("line 3: created: ")
    assert "line 4: refused: resource_type: Unknown resource type 'teleporter'" in out
    assert "line 5: refused: on_hand: Must not be negative." in out
    assert "line 6: refused: unit: Unknown unit 'kg'" in out
    assert "line 7: refused: location.lat: Out of range" in out
    assert "line 9: refused: on_hand: A whole number is expected." in out  # the blank line 8 is skipped
    assert lines[-1] == "2 created, 0 updated, 0 unchanged, 5 refused."
    assert "row" in err  # the progress bar went to stderr
    assert sorted(Inventory.objects.values_list("resource_type_id", flat=True)) == ["drainage_pump", "sandbag"]
    pump = Inventory.objects.get(resource_type_id="drainage_pump")
    assert (pump.external_id, pump.location_name, pump.location_lat) == ("zh-pump-1", "香洲储备库", 22.27)
    assert pump.contacts == [{"name": "值班室", "role": "", "phone": "+86 756 000 0000"}]


def test_importing_the_same_file_again_changes_only_what_changed(world, tmp_path):
    good = "resource_type,on_hand,location\ndrainage_pump,12,香洲储备库\nsandbag,5000,斗门仓库\n"
    run(tmp_path, good, "--no-progress")
    out, err, failure = run(tmp_path, good.replace("5000", "4000"), "--no-progress")
    assert failure is None and err == ""
    assert "line 2: unchanged: " in out and "line 3: updated: " in out and "(on_hand changed)" in out
    assert out.splitlines()[-1] == "0 created, 1 updated, 1 unchanged, 0 refused."
    assert Inventory.objects.count() == 2
    assert InventoryMovement.objects.filter(kind="adjusted", on_hand_change=-1000).count() == 1


def test_a_file_without_the_required_columns_is_refused_whole(world, tmp_path):
    out, err, failure = run(tmp_path, "type,count\npump,3\n")
    assert "lacks resource_type, on_hand" in str(failure)
    assert not Inventory.objects.exists()


def test_an_unknown_jurisdiction_or_an_unreadable_file_is_refused(world, tmp_path):
    with pytest.raises(CommandError, match="Unknown jurisdiction"):
        path = tmp_path / "ok.csv"
        path.write_text("resource_type,on_hand\ntent,1\n")
        call_command("import_inventories", str(path), "--jurisdiction", "999999", stdout=io.StringIO(),
                     stderr=io.StringIO())
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_inventories", str(tmp_path / "missing.csv"), "--jurisdiction", ZHUHAI)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_inventories", str(binary), "--jurisdiction", ZHUHAI)
    assert not Inventory.objects.exists()
