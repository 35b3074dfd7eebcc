"""My contact methods, the page: renders in zh-hans and en, adds (a Hong Kong officer's local
number read as +852), refuses with the field named, moves, removes, sets quiet hours; only
one's own."""

import pytest
from django.test import Client

from coordination.people import selectors, services
from tests.conftest import HONG_KONG, SHENZHEN

pytestmark = pytest.mark.django_db

URL = "/me/contact-methods/"


def browser(user, language="en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def test_the_page_in_both_languages(sz_officer):
    services.contact_add(actor=None, officer=sz_officer, channel="sms", address="+8613800138000", wait_minutes=7)
    services.contact_add(actor=None, officer=sz_officer, channel="wecom",
                         address="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=very-secret-key")
    zh = browser(sz_officer, "zh-hans").get(URL)
    assert zh.status_code == 200
    page = zh.content.decode()
    assert "我的联系方式" in page and "短信" in page and "企业微信群机器人" in page and "7 分钟后尝试下一种" in page
    assert "免打扰时段" in page and "very-secret-key" not in page
    hant = browser(sz_officer, "zh-hant").get(URL).content.decode()
    assert "我的聯絡方式" in hant and "免打擾時段" in hant
    en = browser(sz_officer).get(URL).content.decode()
    assert "My contact methods" in en and "SMS" in en and "7 min, then the next" in en
    assert "Quiet hours" in en and "No quiet hours" in en
    assert 'href="/me/contact-methods/"' in browser(sz_officer).get("/").content.decode()  # in the page header


def test_adding_moving_and_removing(make_officer):
    hk = make_officer("hk-duty", HONG_KONG)
    client = browser(hk)
    answer = client.post(f"{URL}add/", {"channel": "sms", "address": "5123 4567", "wait_minutes": "5"})
    assert answer.status_code == 302
    client.post(f"{URL}add/", {"channel": "email", "address": "duty@hk.example", "wait_minutes": "0"})
    methods = selectors.contact_methods_of(hk)
    assert [m.address for m in methods] == ["+85251234567", "duty@hk.example"]
    client.post(f"{URL}{methods[1].pk}/up/")
    assert [m.channel for m in selectors.contact_methods_of(hk)] == ["email", "sms"]
    client.post(f"{URL}{methods[0].pk}/remove/")
    assert [m.channel for m in selectors.contact_methods_of(hk)] == ["email"]


def test_a_bad_address_is_named_next_to_the_field(sz_officer):
    answer = browser(sz_officer).post(f"{URL}add/", {"channel": "sms", "address": "12345", "wait_minutes": "5"})
    assert answer.status_code == 400
    assert "Enter a valid mobile number" in answer.content.decode()
    zh = browser(sz_officer, "zh-hans").post(f"{URL}add/", {"channel": "email", "address": "nope", "wait_minutes": "5"})
    assert "请输入有效的电子邮件地址" in zh.content.decode()
    assert selectors.contact_methods_of(sz_officer) == []


def test_quiet_hours(sz_officer):
    client = browser(sz_officer)
    assert client.post(f"{URL}quiet-hours/", {"quiet_start": "22:00", "quiet_end": "07:00",
                                              "time_zone": ""}).status_code == 302
    policy = selectors.policy_of(sz_officer)
    assert (policy.quiet_start.hour, policy.quiet_end.hour, policy.zone_is_default) == (22, 7, True)
    assert "Quiet from 22:00 to 07:00 (Asia/Shanghai)." in client.get(URL).content.decode()
    refused = client.post(f"{URL}quiet-hours/", {"quiet_start": "22:00", "quiet_end": "", "time_zone": ""})
    assert refused.status_code == 400 and "Give both the start and the end" in refused.content.decode()


def test_only_ones_own(sz_officer, make_officer):
    method = services.contact_add(actor=None, officer=sz_officer, channel="email", address="a@sz.example")
    other = browser(make_officer("sz-other", SHENZHEN, "commander"))
    assert other.post(f"{URL}{method.pk}/remove/").status_code == 404
    assert "a@sz.example" not in other.get(URL).content.decode()
    assert selectors.contact_methods_of(sz_officer) == [method]
    assert Client().get(URL).status_code == 302  # to the login
