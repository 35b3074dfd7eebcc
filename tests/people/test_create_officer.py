"""manage.py create_officer --email/--phone: the officer's first contact methods, checked first."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from coordination.people import services
from coordination.people.selectors import contact_methods_of
from tests.conftest import HONG_KONG, MACAO, SHENZHEN

pytestmark = pytest.mark.django_db


def create(*args):
    call_command("create_officer", *args, "--password", "pw-Secret-123", stdout=io.StringIO())


def test_email_and_phone_become_the_first_methods(gba):
    create("sz-new", "--jurisdiction", SHENZHEN, "--role", "operator", "--email", "new@sz.example",
           "--phone", "138 0013 8000")
    user = get_user_model().objects.get(username="sz-new")
    assert [(m.position, m.channel, m.address) for m in contact_methods_of(user)] == [
        (0, "email", "new@sz.example"), (1, "sms", "+8613800138000")]
    assert user.email == "new@sz.example"


def test_a_local_number_of_a_sar_officer(gba):
    create("hk-new", "--jurisdiction", HONG_KONG, "--role", "operator", "--phone", "5123 4567")
    create("mo-new", "--jurisdiction", MACAO, "--role", "operator", "--phone", "6612 3456")
    assert contact_methods_of(get_user_model().objects.get(username="hk-new"))[0].address == "+85251234567"
    assert contact_methods_of(get_user_model().objects.get(username="mo-new"))[0].address == "+85366123456"


def test_a_bad_number_creates_nobody(gba):
    with pytest.raises(CommandError, match="mobile number"):
        create("sz-bad", "--jurisdiction", SHENZHEN, "--role", "operator", "--phone", "12345")
    assert not get_user_model().objects.filter(username="sz-bad").exists()


def test_running_again_puts_them_first_without_doubling(gba):
    create("sz-again", "--jurisdiction", SHENZHEN, "--role", "operator")
    user = get_user_model().objects.get(username="sz-again")
    services.contact_add(actor=None, officer=user, channel="wecom",
                         address="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k")
    create("sz-again", "--jurisdiction", SHENZHEN, "--role", "operator", "--phone", "+8613800138000")
    create("sz-again", "--jurisdiction", SHENZHEN, "--role", "operator", "--phone", "+8613800138000")
    assert [m.channel for m in contact_methods_of(user)] == ["sms", "wecom"]
