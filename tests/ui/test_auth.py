"""Logging in and out, who may use the UI at all, and the language switch."""

import re

import pytest
from django.test import Client

from tests.conftest import SHENZHEN
from tests.ui.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_it_sends_an_anonymous_visitor_to_the_login_page(gba):
    response = Client().get("/incidents/?level_at_least=II")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/incidents/%3Flevel_at_least%3DII"


def test_it_shows_the_login_page_in_simplified_chinese_by_default(gba):
    response = Client().get("/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-CN">' in html
    assert "登录" in html and "用户名" in html and "密码" in html


def test_it_logs_an_officer_in_and_out(officer):
    user = officer(SHENZHEN, "operator")
    client = Client()
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    response = client.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert client.get("/").status_code == 302


def test_it_returns_to_the_page_asked_for_after_login(officer):
    user = officer(SHENZHEN, "operator")
    response = Client().post("/login/?next=/incidents/", {"username": user.username, "password": PASSWORD,
                                                          "next": "/incidents/"})
    assert response["Location"] == "/incidents/"


def test_it_refuses_a_wrong_password_next_to_the_form_and_audits_it(officer):
    from coordination.models import AuditEntry

    user = officer(SHENZHEN, "operator")
    response = Client().post("/login/", {"username": user.username, "password": "wrong"})
    assert response.status_code == 200
    assert "用户名或密码错误" in response.content.decode()
    assert AuditEntry.objects.filter(action="auth.login_failed", detail__username=user.username).exists()


def test_it_asks_for_both_fields(gba):
    response = Client(HTTP_ACCEPT_LANGUAGE="en").post("/login/", {"username": "", "password": ""})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_username_error"' in html and 'id="id_password_error"' in html
    assert 'aria-invalid="true"' in html


def test_it_refuses_a_user_who_is_not_an_officer(gba):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("clerk", password=PASSWORD)
    client = Client()
    response = client.post("/login/", {"username": "clerk", "password": PASSWORD})
    assert response.status_code == 200
    assert "不属于任何辖区的值班人员" in response.content.decode()
    client.force_login(get_user_model().objects.get(username="clerk"))  # logged in some other way
    response = client.get("/")
    assert response.status_code == 403
    assert "非值班人员账号" in response.content.decode()


def test_it_limits_login_attempts_per_address(officer, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "token_login": "3/min"}}
    user = officer(SHENZHEN, "operator")
    client = Client()
    for _ in range(3):
        client.post("/login/", {"username": user.username, "password": "wrong"})
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 200
    assert "尝试次数过多" in response.content.decode()


def test_it_switches_the_language_and_keeps_it(browse_as):
    client = browse_as(SHENZHEN, "operator")
    assert "值班总览" in client.get("/").content.decode()
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/incidents/"})
    assert response.status_code == 302 and response["Location"] == "/incidents/"
    html = client.get("/").content.decode()
    assert '<html lang="en">' in html and "Dashboard" in html and "值班总览" not in html
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert "值班总览" in client.get("/").content.decode()


def test_it_marks_the_language_in_use(browse_as):
    html = browse_as(SHENZHEN, "operator", language="en").get("/").content.decode()
    assert re.search(r'value="en"[^>]*aria-pressed="true"', html)
    assert re.search(r'value="zh-hans"[^>]*aria-pressed="false"', html)


def test_a_fragment_asked_for_after_the_session_ended_sends_the_page_to_the_login(gba):
    response = Client().get("/fragments/owed/", HTTP_HX_REQUEST="true",
                            HTTP_HX_CURRENT_URL="http://testserver/incidents/")
    assert response.status_code == 200 and response.content == b""
    assert response["HX-Redirect"] == "/login/?next=/incidents/"


def test_a_page_that_is_not_there_is_a_translated_404(browse_as):
    response = browse_as(SHENZHEN).get("/incidents/INC-2026-999999/")
    assert response.status_code == 404
    assert "没有可供本辖区查看的内容" in response.content.decode()
