"""The catalog pages' form fields → model input, stored values → form fields, errors → fields."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.catalog import entities as cat
from app.catalog.models import CampaignIn, CampaignPatch, LinkIn, LinkPatch, PlacementIn, SiteIn
from app.geo import regions
from app.web import catalog_forms as forms


def _form(**fields: str | list[str]) -> dict[str, list[str]]:
    return {k: v if isinstance(v, list) else [v] for k, v in fields.items()}


# -- small readers ----------------------------------------------------------------------------


def test_lists_split_on_ascii_and_full_width_separators():
    assert forms.split_list(" 内蒙古, 呼和浩特，包头、赤峰;CN ") == [
        "内蒙古",
        "呼和浩特",
        "包头",
        "赤峰",
        "CN",
    ]
    assert forms.split_list(" , ，") == []


def test_hours_read_as_windows():
    assert forms.parse_hours("9-12, 14-18") == [[9, 12], [14, 18]]
    assert forms.parse_hours("9:00-12:00，20~24") == [[9, 12], [20, 24]]
    assert forms.parse_hours("") == []


@pytest.mark.parametrize("text", ["9-x", "9", "nine-ten", "9-12-14"])
def test_bad_hours_say_which_piece(text):
    with pytest.raises(ValueError, match="is not an hour range"):
        forms.parse_hours(text)


# -- routing rules and splits -----------------------------------------------------------------


def test_a_rule_line_names_regions_and_a_url():
    rule = forms.parse_rule("内蒙古, 呼和浩特 => https://shop.example.cn/a")
    assert rule == {
        "targeting": {"regions": ["内蒙古", "呼和浩特"]},
        "landing_url": "https://shop.example.cn/a",
    }


def test_a_rule_may_exclude_regions_and_split_its_traffic():
    rule = forms.parse_rule("内蒙古, -包头 => https://x.cn/a 3 | https://x.cn/b")
    assert rule == {
        "targeting": {"regions": ["内蒙古"], "exclude_regions": ["包头"]},
        "variants": [{"url": "https://x.cn/a", "weight": 3}, {"url": "https://x.cn/b"}],
    }


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("内蒙古 https://shop.example.cn/a", "line 4: no '=>'"),
        (" => https://shop.example.cn/a", "line 4: name the regions"),
        ("内蒙古 =>  ", "line 4: a URL is missing"),
        ("内蒙古 => https://x.cn/a three", "line 4: the weight 'three' is not a whole number"),
        ("内蒙古 => https://x.cn/a 1.5 | https://x.cn/b", "the weight '1.5'"),
        ("内蒙古 => https://x.cn/a 1 2", "line 4: write a URL and an optional weight"),
    ],
)
def test_bad_rule_lines_say_what_is_wrong(line, problem):
    with pytest.raises(forms.LineError) as caught:
        forms.parse_rule(line, 4)
    assert problem in str(caught.value)


def test_rules_skip_blank_lines_and_comments_and_remember_their_lines():
    text = "# Inner Mongolia first\n内蒙古 => https://x.cn/a\n\n  北京 => https://x.cn/b  \n"
    rules, lines = forms.parse_rules(text)
    assert [r["id"] for r in rules] == ["rule1", "rule2"]
    assert [r["targeting"]["regions"] for r in rules] == [["内蒙古"], ["北京"]]
    assert lines == [2, 4]


def test_a_split_is_one_url_a_line_with_an_optional_weight():
    variants, lines = forms.parse_variants("https://x.cn/a 3\n\nhttps://x.cn/b\n")
    assert variants == [
        {"id": "A", "url": "https://x.cn/a", "weight": 3},
        {"id": "B", "url": "https://x.cn/b"},
    ]
    assert lines == [1, 3]


def test_a_bad_weight_in_a_split_names_its_line():
    with pytest.raises(forms.LineError, match="line 2: the weight '-1' is not a whole number"):
        forms.parse_variants("https://x.cn/a\nhttps://x.cn/b -1")


# -- whole forms ------------------------------------------------------------------------------


def test_a_new_link_form_becomes_a_valid_link():
    form = _form(
        campaign_id="cmp_1",
        site_key="site1",
        landing_url="",
        variants="https://shop.example.cn/a 3\nhttps://shop.example.cn/b",
        rules="内蒙古 => https://shop.example.cn/nmg",
        fallback_url="https://shop.example.cn/",
        placement_id="",
        t_regions="内蒙古, 北京",
        t_devices=["mobile", "tablet"],
        t_weekdays=["1", "5"],
        t_hours="9-12, 14-18",
        csrf_token="x",
    )
    parsed = forms.parse("links", form, new=True)
    assert parsed.errors == {}
    assert "landing_url" not in parsed.data and "placement_id" not in parsed.data
    assert parsed.data["targeting"] == {
        "regions": ["内蒙古", "北京"],
        "devices": ["mobile", "tablet"],
        "weekdays": [1, 5],
        "hours": [[9, 12], [14, 18]],
    }
    link = LinkIn.model_validate(parsed.data)
    assert [v.weight for v in link.variants] == [3, 1]
    assert link.rules[0].targeting == {"regions": ["内蒙古"]}
    assert link.rules[0].landing_url == "https://shop.example.cn/nmg"


def test_a_bad_rule_line_is_a_field_error_and_the_form_keeps_what_was_typed():
    rules = "内蒙古 => https://x.cn/a\n呼和浩特 https://x.cn/b"
    parsed = forms.parse("links", _form(campaign_id="c", site_key="s", rules=rules), new=True)
    assert parsed.errors == {"rules": "line 2: no '=>'; write regions => URL"}
    assert parsed.values["rules"] == rules
    assert parsed.values["campaign_id"] == "c"


def test_bad_hours_are_a_field_error():
    parsed = forms.parse("campaigns", _form(name="Q1", t_hours="9-12, lunch"), new=True)
    assert parsed.errors == {"t_hours": "'lunch' is not an hour range like 9-12"}


def test_a_new_campaign_form_leaves_empty_fields_to_the_model_defaults():
    form = _form(
        name="Q1",
        advertiser_id="adv_1",
        start_date="2025-01-01",
        end_date="",
        budget="1000.50",
        currency="",
        frequency_cap="3",
    )
    parsed = forms.parse("campaigns", form, new=True)
    campaign = CampaignIn.model_validate(parsed.data)
    assert str(campaign.start_date) == "2025-01-01" and campaign.end_date is None
    assert str(campaign.budget) == "1000.50"
    assert (campaign.currency, campaign.frequency_cap, campaign.targeting) == ("CNY", 3, {})


def test_a_bad_number_is_refused_by_the_model_on_its_field():
    parsed = forms.parse("placements", _form(site_key="s", name="top", width="wide"), new=True)
    with pytest.raises(ValidationError) as caught:
        PlacementIn.model_validate(parsed.data)
    errors = forms.errors_from([(e["loc"], e["msg"]) for e in caught.value.errors()], {})
    assert list(errors) == ["width"]


def test_a_site_needs_an_owner_said_for_the_whole_form():
    parsed = forms.parse("sites", _form(name="BBS", domain="bbs.cn", channel="campus"), new=True)
    with pytest.raises(ValidationError) as caught:
        SiteIn.model_validate(parsed.data)
    errors = forms.errors_from([(e["loc"], e["msg"]) for e in caught.value.errors()], {})
    assert errors == {"": "give either partner or advertiser_id (the owner of the site)"}


def test_an_edit_clears_dates_and_budget_and_keeps_other_empty_choices_unchanged():
    form = _form(name="Q1", start_date="", end_date="", budget="", currency="CNY",
                 goal_event="", timezone="Asia/Shanghai", frequency_cap="")  # fmt: skip
    parsed = forms.parse("campaigns", form, new=False)
    assert parsed.errors == {}
    assert "advertiser_id" not in parsed.data  # set when made, never edited
    patch = CampaignPatch.model_validate(parsed.data)
    changes = patch.model_dump(exclude_unset=True)
    assert changes["start_date"] is None and changes["budget"] is None
    assert changes["goal_event"] is None  # the service reads None as "unchanged" here
    assert changes["targeting"] == {}


def test_an_edit_needs_the_required_fields():
    parsed = forms.parse("creatives", _form(name="", landing_url=""), new=False)
    assert parsed.errors == {"name": "required", "landing_url": "required"}


def test_an_edit_without_the_rules_textarea_leaves_the_rules_alone():
    form = _form(landing_url="https://x.cn/a", variants="", fallback_url="")
    parsed = forms.parse("links", form, new=False)
    assert "rules" not in parsed.data and "rules" not in parsed.values
    assert parsed.data["variants"] == []
    LinkPatch.model_validate(parsed.data)


def test_the_new_form_starts_from_the_model_defaults():
    values = forms.blank("campaigns", CampaignIn)
    assert (values["currency"], values["timezone"], values["goal_event"]) == (
        "CNY",
        "Asia/Shanghai",
        "order",
    )
    assert values["frequency_cap"] == "0" and values["name"] == "" and values["t_devices"] == []


# -- stored values back into forms ------------------------------------------------------------


def test_every_region_reads_back_as_its_own_code():
    for division in [*regions.provinces(), *regions.cities()]:
        ref = forms.region_ref(division.code)
        assert "," not in ref
        assert regions.parse_region_ref(ref).code == division.code, (division, ref)


def test_region_refs_are_short_names_where_they_are_unambiguous():
    assert forms.region_ref("150000") == "内蒙古"
    assert forms.region_ref("150100") == "呼和浩特"
    assert forms.region_ref("999999") == "999999"
    assert forms.region_label("150000") == "内蒙古自治区 · Inner Mongolia (150000)"


def test_stored_link_rules_round_trip_through_the_textarea():
    link = cat.Link(
        code="abc",
        campaign_id="c",
        site_key="s",
        landing_url="https://x.cn/",
        variants=[{"id": "A", "url": "https://x.cn/a", "weight": 2},
                  {"id": "B", "url": "https://x.cn/b", "weight": 1}],
        rules=[
            {"id": "rule1", "targeting": {"regions": ["150000"], "exclude_regions": ["150200"]},
             "landing_url": "https://x.cn/nmg", "variants": []},
            {"id": "rule2", "targeting": {"regions": ["110000", "150100"]}, "landing_url": "",
             "variants": [{"id": "A", "url": "https://x.cn/p", "weight": 1},
                          {"id": "B", "url": "https://x.cn/q", "weight": 4}]},
        ],
        targeting={"regions": ["150000"], "devices": ["mobile"], "weekdays": [1, 2],
                   "hours": [[9, 12]]},
    )  # fmt: skip
    values = forms.values_of("links", link)
    assert values["rules"] == (
        "内蒙古, -包头 => https://x.cn/nmg\n北京, 呼和浩特 => https://x.cn/p 1 | https://x.cn/q 4"
    )
    assert values["variants"] == "https://x.cn/a 2\nhttps://x.cn/b"
    assert (values["t_regions"], values["t_devices"], values["t_weekdays"], values["t_hours"]) == (
        "内蒙古",
        ["mobile"],
        ["1", "2"],
        "9-12",
    )
    parsed = forms.parse("links", values, new=False)  # a form sent back unchanged
    rules = parsed.data["rules"]
    assert rules[0]["targeting"] == {"regions": ["内蒙古"], "exclude_regions": ["包头"]}
    assert [v["weight"] for v in rules[1]["variants"]] == [1, 4]
    assert parsed.data["targeting"]["hours"] == [[9, 12]]


def test_rules_beyond_regions_are_not_put_in_the_textarea():
    rules = [{"id": "r", "targeting": {"devices": ["mobile"]}, "landing_url": "https://x.cn/m"}]
    assert forms.format_rules(rules) is None
    link = cat.Link(code="abc", campaign_id="c", site_key="s", landing_url="", rules=rules)
    assert "rules" not in forms.values_of("links", link)


def test_targeting_is_described_with_region_names_and_day_names():
    spec = {"regions": ["150000"], "weekdays": [1, 7], "hours": [[9, 12]], "os": ["ios"]}
    assert forms.describe_targeting(spec) == [
        "Regions: 内蒙古自治区 · Inner Mongolia (150000)",
        "OS: ios",
        "Weekdays: Mon, Sun",
        "Hours: 9-12",
    ]
    assert forms.describe_targeting({}) == []


# -- errors onto fields -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("loc", "field", "message"),
    [
        ("targeting.regions.0", "t_regions", "unknown"),
        ("targeting.hours.1", "t_hours", "unknown"),
        ("rules.1.targeting.regions.0", "rules", "line 5: regions: unknown"),
        (("variants", 0, "weight"), "variants", "line 2: weight: unknown"),
        (("variants", 1, "url"), "variants", "line 7: unknown"),
        ("campaign_ids.2", "campaign_ids", "unknown"),
        ("end_date", "end_date", "unknown"),
        ((), "", "unknown"),
    ],
)
def test_errors_land_on_their_form_field(loc, field, message):
    lines = {"rules": [1, 5], "variants": [2, 7]}
    assert forms.place_error(loc, "Value error, unknown", lines) == (field, message)


def test_model_errors_in_a_split_name_the_textarea_line():
    parsed = forms.parse(
        "links",
        _form(campaign_id="c", site_key="s", variants="\nhttps://x.cn/a 0\nftp://x.cn/b"),
        new=True,
    )
    with pytest.raises(ValidationError) as caught:
        LinkIn.model_validate(parsed.data)
    errors = forms.errors_from([(e["loc"], e["msg"]) for e in caught.value.errors()], parsed.lines)
    assert errors["variants"].startswith("line 2: weight: ")
    assert "; line 3: " in errors["variants"]
