"""Name keys: how place names from a geo database, a user or a data file are compared."""

from __future__ import annotations

import re
import unicodedata

# Peoples named in English autonomous-area names ("Xishuangbanna Dai Autonomous Prefecture",
# "Haixi Mongol and Tibetan Autonomous Prefecture"): the place name is the words before them.
_PEOPLES_EN = frozenset(
    ("autonomous", "bai", "bouyei", "buyei", "chaoxian", "dai", "dong", "hani", "hui", "jingpo",
     "kazak", "kazakh", "kirgiz", "kyrgyz", "korean", "li", "lisu", "man", "manchu", "miao",
     "mongol", "mongolian", "naxi", "qiang", "salar", "she", "tibetan", "tu", "tujia", "uighur",
     "uygur", "uyghur", "yao", "yi", "zang", "zhuang")
)  # fmt: skip
# Administrative words a name may carry on the end, as keys (see `key`). Only tried after the
# whole name failed, so a real name ending the same way ("Huangshi", 黄石) still wins.
_SUFFIXES = (
    "specialadministrativeregion",
    "autonomousregion",
    "autonomousprefecture",
    "chengguanzhen",  # a county's seat town: the county is meant
    "municipality",
    "prefecture",
    "province",
    "district",
    "county",
    "league",
    "sheng",
    "city",
    "shi",
    "sar",
    "特别行政区",
    "城关镇",
    "自治区",
    "自治州",
    "地区",
    "新区",
    "省",
    "市",
    "盟",
    "县",
    "区",
    "镇",
)
_WORDS = re.compile(r"[\s,]+")


def key(text: str) -> str:
    """Casefolded letters and digits, accents dropped: "Xi'an", "XI AN" → "xian"; 北京市 stays."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed.casefold() if c.isalnum())


def _is_cjk(text: str) -> bool:
    return bool(text) and not text.isascii()


def variants(text: str) -> list[str]:
    """Keys to try in turn: the whole name, the name before "... Autonomous ...", then the name
    without one administrative suffix (at least 2 CJK or 3 Latin characters left)."""
    whole = key(text)
    if not whole:
        return []
    out = [whole]
    words = [key(word) for word in _WORDS.split(text.strip())]
    if "autonomous" in words[1:]:
        first = next(i for i, word in enumerate(words) if i and word in _PEOPLES_EN)
        if (before := "".join(words[:first])) not in out:
            out.append(before)
    for base in list(out):
        for suffix in _SUFFIXES:
            keep = 2 if _is_cjk(suffix) else 3
            if base.endswith(suffix) and len(base) - len(suffix) >= keep:
                stripped = base[: -len(suffix)]
                if stripped not in out:
                    out.append(stripped)
    return out
