"""The 21 enforcement categories table."""

import re

import pytest

from service.incidents.categories import CATEGORIES, Category, category_codes, get_category


def test_twenty_one_unique_codes_in_plan_order():
    assert len(CATEGORIES) == 21
    assert category_codes() == [f"C{i:02d}" for i in range(1, 22)]
    assert [c.number for c in CATEGORIES] == list(range(1, 22))
    assert len({c.name_zh for c in CATEGORIES}) == 21


@pytest.mark.parametrize("category", CATEGORIES, ids=lambda c: c.code)
def test_required_fields_filled(category: Category):
    assert category.name_zh
    assert category.name_en
    assert category.lead_department
    assert category.basis, "every time limit says why"
    assert 0 < category.time_limit_hours <= 160
    assert category.keywords
    assert all(category.keywords)
    assert category.crosswalk_confidence in ("exact", "approximate", "none")
    if category.crosswalk_confidence == "none":
        assert category.gbt_major is None
        assert category.gbt_minor is None
    else:
        assert category.gbt_major in (
            "市容环境",
            "宣传广告",
            "施工管理",
            "突发事件",
            "街面秩序",
            "其他事件",
        )
    # Roles, not people: no phone numbers in the shipped table.
    text = " ".join(str(v) for v in vars_of(category))
    assert not re.search(r"\d{7,}", text)


def vars_of(category: Category):
    return [getattr(category, f) for f in category.__dataclass_fields__]


def test_known_rows_match_the_plan_and_practice():
    stalls = get_category("C02")
    assert stalls.name_zh == "占道施工与摆摊设点"
    assert stalls.time_limit_hours == 2
    assert (stalls.gbt_major, stalls.gbt_minor) == ("街面秩序", "无照经营游商")
    assert get_category("C01").time_limit_hours == 4
    assert get_category("C08").time_limit_hours == 4
    assert get_category("C10").gbt_major is None
    assert get_category("C14").urgent_by_default
    assert get_category("C19").urgent_by_default
    assert not get_category("C02").urgent_by_default


@pytest.mark.parametrize("code", ["C07", "c07", "7", "07", " C07 "])
def test_lookup_spellings(code: str):
    assert get_category(code).code == "C07"


@pytest.mark.parametrize("code", ["C22", "0", "X1", "", "C"])
def test_unknown_code_lists_valid_codes(code: str):
    with pytest.raises(KeyError, match="C01, C02"):
        get_category(code)


def test_category_is_frozen():
    with pytest.raises(AttributeError):
        CATEGORIES[0].code = "C99"  # type: ignore[misc]
