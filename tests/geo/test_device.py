"""Device enrichment: real user agents, the bot list, caching and the cheap classifier."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.geo.device import (
    BOTS,
    DEVICE_TYPES,
    Device,
    DeviceParser,
    device_class,
    parse_bots,
)
from app.ingest.columns import events_table
from app.ingest.enrich.device import put_device

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko)"
)
ANDROID = (
    "Mozilla/5.0 (Linux; Android 13; V2203A Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0"
)

# (user agent, device_type, is_bot, browser, os)
CASES = [
    (f"{IPHONE} Mobile/15E148 MicroMessenger/8.0.40(0x1800282a) NetType/WIFI Language/zh_CN",
     "mobile", 0, "WeChat", "iOS"),
    (f"{ANDROID} Chrome/107.0.5304.141 Mobile Safari/537.36 XWEB/5023 MMWEBSDK/20230405 "
     "MMWEBID/2310 MicroMessenger/8.0.35.2360(0x2800233D) WeChat/arm64 Weixin NetType/WIFI",
     "mobile", 0, "WeChat", "Android"),
    ("Mozilla/5.0 (Linux; U; Android 11; zh-cn; PCLM10 Build/RKQ1.200903.002) AppleWebKit/537.36 "
     "(KHTML, like Gecko) Version/4.0 Chrome/89.0.4389.72 MQQBrowser/12.1 Mobile Safari/537.36",
     "mobile", 0, "QQ Browser", "Android"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/16.6 MQQBrowser/14.1.5 Mobile/15E148 Safari/604.1 QBWebViewUA/2",
     "mobile", 0, "QQ Browser", "iOS"),
    (f"{ANDROID} Chrome/98.0.4758.102 MQQBrowser/6.2 TBS/046317 Mobile Safari/537.36 "
     "V1_AND_SQ_8.9.38_4196_YYB_D QQ/8.9.38.10545 NetType/WIFI WebP/0.3.0",
     "mobile", 0, "QQ", "Android"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 16_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Mobile/15E148 QQ/8.9.28.635 V1_IPH_SQ_8.9.28_1_APP_A Pixel/1170 Core/WKWebView",
     "mobile", 0, "QQ", "iOS"),
    ("Mozilla/5.0 (Linux; U; Android 10; zh-CN; SEA-AL10 Build/HUAWEISEA-AL10) AppleWebKit/537.36"
     " (KHTML, like Gecko) Version/4.0 Chrome/78.0.3904.108 UCBrowser/13.4.0.1306 Mobile "
     "Safari/537.36", "mobile", 0, "UC Browser", "Android"),
    ("Mozilla/5.0 (Linux; Android 12; NOH-AN00 Build/HUAWEINOH-AN00; wv) AppleWebKit/537.36 "
     "(KHTML, like Gecko) Version/4.0 Chrome/97.0.4692.98 Mobile Safari/537.36 T7/13.32 "
     "SP-engine/2.70.0 baiduboxapp/13.32.0.10 (Baidu; P1 12) NABar/1.0",
     "mobile", 0, "Baidu App", "Android"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.0.0 Safari/537.36", "desktop", 0, "Chrome", "Windows"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0", "desktop", 0, "Edge", "Windows"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
     "desktop", 0, "Firefox", "Windows"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.0.0 Safari/537.36", "desktop", 0, "Chrome", "macOS"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.1 Safari/605.1.15", "desktop", 0, "Safari", "macOS"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/17.1 Mobile/15E148 Safari/604.1", "mobile", 0, "Mobile Safari", "iOS"),
    ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.0.0 Mobile Safari/537.36", "mobile", 0, "Chrome Mobile", "Android"),
    ("Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/16.6 Mobile/15E148 Safari/604.1", "tablet", 0, "Mobile Safari", "iOS"),
    ("Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.0.0 Safari/537.36", "tablet", 0, "Chrome", "Android"),
    ("Mozilla/5.0 (Linux; Android 12; HUAWEI MatePad) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/99.0 Safari/537.36", "tablet", 0, "Chrome", "Android"),
    ("Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
     "bot", 1, "Baiduspider", ""),
    ("Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile "
     "Safari/537.36 (compatible; Bytespider; spider-feedback@bytedance.com)",
     "bot", 1, "Bytespider", "Android"),
    ("Sogou web spider/4.0(+http://www.sogou.com/docs/help/webmasters.htm#07)",
     "bot", 1, None, ""),
    ("Sogou inst spider/4.0(+http://www.sogou.com/docs/help/webmasters.htm#07)",
     "bot", 1, None, ""),
    ("Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0); 360Spider",
     "bot", 1, None, "Windows"),
    ("Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/69.0.3497.81 YisouSpider/5.0 Safari/537.36", "bot", 1, None, "Windows"),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
     "bot", 1, "Googlebot", ""),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "HeadlessChrome/120.0.6099.28 Safari/537.36", "bot", 1, "HeadlessChrome", "Linux"),
    ("curl/8.4.0", "bot", 1, "curl", ""),
    ("python-requests/2.31.0", "bot", 1, None, ""),
    ("", "other", 0, "", ""),
]  # fmt: skip


@pytest.fixture(scope="module")
def parser() -> DeviceParser:
    return DeviceParser()


@pytest.mark.parametrize(("ua", "device_type", "is_bot", "browser", "os"), CASES)
def test_real_user_agents(
    parser: DeviceParser, ua: str, device_type: str, is_bot: int, browser: str | None, os: str
) -> None:
    got = parser.parse(ua)
    assert (got.device_type, got.is_bot, got.os) == (device_type, is_bot, os)
    if browser is not None:
        assert got.browser == browser


def test_versions_are_major_minor(parser: DeviceParser) -> None:
    wechat = parser.parse(CASES[0][0])
    assert (wechat.browser_version, wechat.os_version) == ("8.0", "16.5")
    edge = parser.parse(CASES[9][0])
    assert (edge.browser_version, edge.os_version) == ("120.0", "10")


def test_empty_user_agent_is_not_guessed(parser: DeviceParser) -> None:
    assert parser.parse("") == Device("", "", "", "", "other", 0)
    assert parser.parse("   ").device_type == "other"


def test_cache_returns_identical_results() -> None:
    fresh = DeviceParser()
    first = [fresh.parse(case[0]) for case in CASES]
    again = [fresh.parse(case[0]) for case in CASES]
    assert all(a is b for a, b in zip(first, again, strict=True))
    small = DeviceParser(cache_max=2)
    assert [small.parse(case[0]) for case in CASES * 2] == first * 2
    assert len(small._cache) <= 2


def test_put_device_fills_the_table(parser: DeviceParser) -> None:
    step = put_device(parser)
    table = step(events_table([{"user_agent": CASES[0][0]}, {}, {"user_agent": CASES[0][0]}]))
    rows = table.select(["browser", "os", "device_type", "is_bot"]).to_pylist()
    assert (
        rows[0]
        == rows[2]
        == {"browser": "WeChat", "os": "iOS", "device_type": "mobile", "is_bot": 0}
    )
    assert rows[1] == {"browser": "", "os": "", "device_type": "other", "is_bot": 0}
    assert step(events_table([])).num_rows == 0


@pytest.mark.parametrize(("ua", "device_type"), [(case[0], case[1]) for case in CASES])
def test_device_class_agrees_on_the_table(ua: str, device_type: str) -> None:
    assert device_class(ua) == device_type


def test_bot_list_rules() -> None:
    bots = parse_bots(
        "# comment\n\nBaiduspider\n  re:^curl/  \nSogou web spider\n+http://\nbot/\nbotnet\n"
    )
    assert bots("mozilla/5.0 (compatible; baiduspider/2.0)")
    assert bots("curl/8.0") and not bots("libcurl-agent")
    assert bots("SOGOU WEB SPIDER/4.0")
    assert bots("x (+http://example.com)") and not bots("x (http://example.com)")
    assert bots("Googlebot/2.1") and bots("a botnet") and not bots("Cubot X30")
    assert not bots("# comment") and not bots("")
    with pytest.raises(ValueError, match="line 2"):
        parse_bots("ok\nre:bad(\n")


def test_bot_list_file_is_loaded() -> None:
    for ua in ["YoudaoBot/1.0", "Mozilla/5.0 (compatible; 360Spider)", "Mozilla/5.0", "Wget/1.2"]:
        assert BOTS(ua), ua


def test_phone_names_are_not_bots(parser: DeviceParser) -> None:
    cubot = (
        "Mozilla/5.0 (Linux; Android 10; CUBOT_X30) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/90.0.4430.91 Mobile Safari/537.36"
    )
    assert parser.parse(cubot).device_type == "mobile"


UA_PIECES = st.sampled_from(
    ["Mozilla/5.0", "(iPad;", "Android", "Mobile", "Safari", "MicroMessenger/", "QQ/", "bot",
     "Windows NT 10.0", "UCWEB", "baiduboxapp/1", "Tablet", "\x00", "é", " ", ";", ")"]
)  # fmt: skip


@given(st.one_of(st.text(max_size=300), st.lists(UA_PIECES, max_size=12).map("".join)))
def test_parse_never_raises(parser: DeviceParser, ua: str) -> None:
    got = parser.parse(ua)
    assert got.device_type in DEVICE_TYPES
    assert got.is_bot == (got.device_type == "bot")
    assert device_class(ua) in DEVICE_TYPES
