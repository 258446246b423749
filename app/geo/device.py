"""Browser, OS, device type and bot flag of a user agent: a full parse for the loader's
enrichment (`app.ingest.enrich.device`), cheap substring classes for the edge's targeting.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib import resources
from typing import Any, NamedTuple

from ua_parser import Domain, load_lazy_builtins
from ua_parser.core import PartialResult
from ua_parser.regex import Resolver

DEVICE_TYPES = frozenset({"desktop", "mobile", "tablet", "bot", "other"})

# Distinct user agents are few next to hits; past this many the cache is dropped whole.
CACHE_MAX = 50_000
# Real user agents, even WeChat's, stay well under this; cutting longer ones keeps a hostile
# client from making one parse, or one cache entry, expensive.
MAX_UA = 1024

# ua-parser misses or misnames the Chinese in-app browsers that carry much of the mobile
# traffic here (WeChat on Android reads as "Chrome Mobile WebView", QQ on iOS as a bare
# WKWebView), so these win over its answer. Order matters: WeChat and QQ embed MQQBrowser.
_IN_APP = (
    ("WeChat", re.compile(r"MicroMessenger/(\d+)(?:\.(\d+))?")),
    ("QQ", re.compile(r"(?:^|\s)QQ/(\d+)(?:\.(\d+))?")),
    ("Baidu App", re.compile(r"baiduboxapp/(\d+)(?:\.(\d+))?")),
    ("UC Browser", re.compile(r"UCBrowser/(\d+)(?:\.(\d+))?")),
    ("UC Browser", re.compile(r"UCWEB/?(\d+)?(?:\.(\d+))?")),
    ("QQ Browser", re.compile(r"MQQBrowser/(\d+)(?:\.(\d+))?")),
)
_BROWSER_NAMES = {"QQ Browser Mobile": "QQ Browser", "Baidu Explorer": "Baidu App"}
_OS_NAMES = {"Mac OS X": "macOS"}

_MOBILE_OS = frozenset(
    {
        "iOS",
        "Android",
        "HarmonyOS",
        "Windows Phone",
        "Windows Mobile",
        "BlackBerry OS",
        "KaiOS",
        "Symbian OS",
        "Firefox OS",
    }
)
_DESKTOP_OS = frozenset(
    {
        "macOS",
        "Linux",
        "Ubuntu",
        "Chrome OS",
        "Fedora",
        "Debian",
        "FreeBSD",
        "OpenBSD",
        "NetBSD",
        "Red Hat",
        "Linux Mint",
        "openSUSE",
        "CentOS",
        "Arch Linux",
        "Gentoo",
        "Solaris",
    }
)
# Android tablets mostly announce themselves only by leaving "Mobile" out; these names catch
# the ones whose browsers add it anyway.
_TABLET = re.compile(
    r"iPad|Tablet|Kindle|Silk/|PlayBook|MatePad|MI PAD|Xiaomi Pad|Redmi Pad|Lenovo TB|"
    r"HUAWEI M[2-6]|SM-[TPX]\d|Nexus (?:7|9|10)\b",
    re.IGNORECASE,
)


class Device(NamedTuple):
    browser: str = ""
    browser_version: str = ""
    os: str = ""
    os_version: str = ""
    device_type: str = "other"
    is_bot: int = 0


UNKNOWN = Device()


class BotMatcher:
    """Matches user agents against bots.txt: substrings first, as one pattern, then regexes."""

    def __init__(self, substrings: Iterable[str], regexes: Iterable[str] = ()) -> None:
        words = sorted({word.lower() for word in substrings if word})
        # One alternation over ~100 words costs ~60 µs per UA in `re`; factored into a trie it
        # branches once per character and costs ~2 µs.
        self._substrings = re.compile(_trie_pattern(words)) if words else None
        self._regexes = tuple(re.compile(pattern, re.IGNORECASE) for pattern in regexes)

    def __call__(self, ua: str) -> bool:
        if self._substrings is not None and self._substrings.search(ua.lower()):
            return True
        return any(pattern.search(ua) for pattern in self._regexes)


def _trie_pattern(words: Iterable[str]) -> str:
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return _trie_branch(root)


def _trie_branch(node: dict[str, Any]) -> str:
    # Where a word ends, longer words through the same prefix add nothing to "any match".
    if "" in node:
        return ""
    branches = [re.escape(char) + _trie_branch(child) for char, child in sorted(node.items())]
    return branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"


def parse_bots(text: str) -> BotMatcher:
    """Build the matcher from bots.txt text: substrings, or regexes after `re:`; # comments."""
    substrings: list[str] = []
    regexes: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not line.startswith("re:"):
            substrings.append(line)
            continue
        pattern = line.removeprefix("re:").strip()
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"bots.txt line {number}: bad regex {pattern!r}: {exc}") from exc
        regexes.append(pattern)
    return BotMatcher(substrings, regexes)


BOTS = parse_bots(resources.files("app").joinpath("data/bots.txt").read_text("utf-8"))


def _version(major: str | None, minor: str | None) -> str:
    if not major:
        return ""
    return f"{major}.{minor}" if minor else major


def _browser(ua: str, parsed: PartialResult) -> tuple[str, str]:
    for family, pattern in _IN_APP:
        if m := pattern.search(ua):
            return family, _version(m.group(1), m.group(2))
    agent = parsed.user_agent
    if agent is None:
        return "", ""
    return _BROWSER_NAMES.get(agent.family, agent.family), _version(agent.major, agent.minor)


def _device_type(ua: str, os: str, parsed: PartialResult) -> str:
    device = parsed.device
    family = device.family if device else ""
    brand = (device.brand if device else None) or ""
    if family == "iPad" or "Tablet" in brand:
        return "tablet"
    if os == "Android" and "Safari" in ua and "Mobile" not in ua:
        return "tablet"
    if not os.startswith("Windows") and _TABLET.search(ua):
        return "tablet"
    if os in _MOBILE_OS or "Mobi" in ua or family == "iPhone":
        return "mobile"
    if os in _DESKTOP_OS or os.startswith("Windows"):
        return "desktop"
    return "other"


class DeviceParser:
    """Parses user agents with ua-parser's compiled regex backend, caching per distinct UA."""

    def __init__(self, bots: BotMatcher = BOTS, cache_max: int = CACHE_MAX) -> None:
        self._resolver = Resolver(load_lazy_builtins())
        self._bots = bots
        self._cache: dict[str, Device] = {}
        self._cache_max = cache_max

    def parse(self, ua: str) -> Device:
        if len(ua) > MAX_UA:
            ua = ua[:MAX_UA]
        hit = self._cache.get(ua)
        if hit is not None:
            return hit
        device = self._parse(ua)
        if len(self._cache) >= self._cache_max:
            self._cache.clear()
        self._cache[ua] = device
        return device

    def _parse(self, ua: str) -> Device:
        # Without a user agent there is nothing to go on; calling it a bot would be a guess.
        if not ua.strip():
            return UNKNOWN
        parsed = self._resolver(ua, Domain.ALL)
        browser, browser_version = _browser(ua, parsed)
        os, os_version = "", ""
        if parsed.os is not None:
            os = _OS_NAMES.get(parsed.os.family, parsed.os.family)
            os_version = _version(parsed.os.major, parsed.os.minor)
        is_bot = self._bots(ua) or (parsed.device is not None and parsed.device.family == "Spider")
        return Device(
            browser=browser,
            browser_version=browser_version,
            os=os,
            os_version=os_version,
            device_type="bot" if is_bot else _device_type(ua, os, parsed),
            is_bot=int(is_bot),
        )


def device_class(ua: str) -> str:
    """Rough device type from substrings alone, for request-path routing; no full parse."""
    if not ua:
        return "other"
    if BOTS(ua[:MAX_UA]):
        return "bot"
    if "iPad" in ua or ("Android" in ua and "Mobile" not in ua and "Safari" in ua):
        return "tablet"
    if "Mobi" in ua or "iPhone" in ua or "Android" in ua:
        return "mobile"
    return "desktop"


def os_family(ua: str) -> str:
    """OS family from substrings alone: enough for targeting, far cheaper than a parse."""
    if "HarmonyOS" in ua or "OpenHarmony" in ua:
        return "harmonyos"
    if "Android" in ua:
        return "android"
    if "iPhone" in ua or "iPad" in ua or "iPod" in ua:
        return "ios"
    if "Windows" in ua:
        return "windows"
    if "Macintosh" in ua or "Mac OS X" in ua:
        return "macos"
    if "Linux" in ua or "X11" in ua:
        return "linux"
    return "other"
