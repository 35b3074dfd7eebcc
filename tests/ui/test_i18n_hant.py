"""Traditional Chinese (zh-hant, Hong Kong and Macao usage) as a full UI language: chosen from the
browser's language or the switch, marked on the page for the browser and the screen reader."""

import re

import pytest
from django.test import Client

from tests.conftest import HONG_KONG, MACAO, SHENZHEN


@pytest.mark.parametrize("accept, html_lang, word", [
    ("zh-HK,zh;q=0.9,en;q=0.8", "zh-HK", "登入"),
    ("zh-MO", "zh-HK", "登入"),
    ("zh-TW", "zh-HK", "登入"),
    ("zh-CN,zh;q=0.9", "zh-CN", "登录"),
    ("en-GB", "en", "Log in"),
])
def test_the_login_page_follows_the_browser_language(gba, accept, html_lang, word):
    html = Client(HTTP_ACCEPT_LANGUAGE=accept).get("/login/").content.decode()
    assert f'<html lang="{html_lang}">' in html
    assert word in html


@pytest.mark.parametrize("jurisdiction", [HONG_KONG, MACAO])
def test_an_officer_of_hong_kong_or_macao_reads_the_dashboard_in_traditional_chinese(browse_as, jurisdiction):
    # A browser set up in Hong Kong or Macao asks for zh-HK / zh-MO; the officers carry no
    # language of their own (LocaleMiddleware: the switch's cookie, else the browser's).
    client = browse_as(jurisdiction, "operator", language="zh-HK" if jurisdiction == HONG_KONG else "zh-MO")
    html = client.get("/").content.decode()
    assert '<html lang="zh-HK">' in html and 'data-lang="zh-HK"' in html
    assert "值班總覽" in html and "值班总览" not in html
    assert re.search(r'value="zh-hant"[^>]*aria-pressed="true"', html)


def test_the_switch_offers_three_languages_each_named_in_itself(browse_as):
    client = browse_as(SHENZHEN, "operator")
    html = client.get("/").content.decode()
    buttons = re.findall(r'<button type="submit" name="language" value="([^"]+)" lang="([^"]+)"[^>]*>([^<]+)</button>',
                         html)
    assert buttons == [("zh-hans", "zh-CN", "简体"), ("zh-hant", "zh-HK", "繁體"), ("en", "en", "English")]
    client.post("/i18n/setlang/", {"language": "zh-hant", "next": "/"})
    html = client.get("/").content.decode()
    assert '<html lang="zh-HK">' in html and "值班總覽" in html
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert "值班总览" in client.get("/").content.decode()
