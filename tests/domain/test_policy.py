"""The policy files: both shipped ones load; a bad one is refused naming the key and what is
wrong; the calendar a policy describes is the one its clocks are counted on."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest

from config import REPO_ROOT, Settings, load_policy_file
from domain.policy import PolicyError, legacy_policy, parse_policy
from domain.working_days import WorkingCalendar

WEST_KENT = (REPO_ROOT / "policy" / "west-kent.toml").read_text()


@pytest.mark.parametrize("name", ["west-kent.toml", "ombudsman-code.toml"])
def test_both_shipped_policies_load(name: str) -> None:
    policy = load_policy_file(REPO_ROOT / "policy" / name)
    assert policy.version and len(policy.content_hash) == 64
    assert set(policy.enquiries.reply_working_days) >= {"online_form", "letter", "callback"}


def test_the_default_policy_is_west_kents_and_matches_the_legacy_numbers() -> None:
    shipped = Settings().policy
    assert shipped.name == "West Kent complaints policy and customer service standards"
    legacy = legacy_policy()
    # cases lodged before policy files ran on these numbers; the 2024 file says the same
    assert shipped.complaints == legacy.complaints
    assert shipped.calendar == legacy.calendar
    assert shipped.enquiries == legacy.enquiries


def test_the_hash_changes_with_the_content_not_the_layout() -> None:
    relaid = WEST_KENT.replace("stage1_contact = 3 ", "stage1_contact    =    3 ")
    assert parse_policy(relaid).content_hash == parse_policy(WEST_KENT).content_hash
    changed = WEST_KENT.replace("stage1_contact = 3", "stage1_contact = 2")
    assert parse_policy(changed).content_hash != parse_policy(WEST_KENT).content_hash


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("stage1_response = 10", "stage1_response = 0"), "complaints.stage1_response: Input"),
        (("stage1_response = 10", "stage1_respons = 10"), "complaints.stage1_respons: Extra"),
        (('timezone = "Europe/London"', 'timezone = "Europe/Lundun"'), "calendar.timezone"),
        (("letter = 5,", "post = 5,"), "unknown channel(s) post"),
        (('closes = "16:45"', 'closes = "07:00"'), "calendar.office_hours.friday"),
        (("[urgency]", "[urgency\n"), "not valid TOML"),
        (("[teams]", "[teamz]"), "teams: Field required"),
    ],
)
def test_a_bad_policy_names_the_key_and_what_is_wrong(edit, message) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(WEST_KENT.replace(*edit), "my-policy.toml")
    assert str(info.value).startswith("my-policy.toml: ")
    assert message in str(info.value)


def test_a_missing_policy_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"POLICY_FILE .*nowhere\.toml: cannot be read"):
        Settings(policy_file=tmp_path / "nowhere.toml").policy  # noqa: B018


def test_the_calendar_is_the_policys() -> None:
    policy = parse_policy(
        WEST_KENT.replace("closure_days = []", "closure_days = [2026-12-29]").replace(
            'office_hours.friday = { opens = "08:45", closes = "16:45" }',
            'office_hours.friday = { opens = "09:00", closes = "12:00" }',
        )
    )
    calendar = WorkingCalendar.from_policy(policy.calendar)
    assert not calendar.is_working_day(date(2026, 12, 29))  # closure day
    assert not calendar.is_working_day(date(2026, 12, 28))  # substitute Boxing Day
    assert calendar.close_of_business(date(2027, 1, 8)).time() == time(12, 0)
    scotland = WorkingCalendar.from_policy(
        policy.calendar.model_copy(update={"bank_holidays_subdivision": "SCT"})
    )
    assert not scotland.is_working_day(date(2027, 1, 4))  # 2 January (substitute) in Scotland


def test_categories_and_root_causes_are_keys_and_labels() -> None:
    shipped = parse_policy(WEST_KENT)
    assert shipped.categories and shipped.categories["damp_and_mould"] == "Damp and mould"
    assert shipped.root_causes and shipped.root_causes["delay"] == "Delay or missed appointment"
    with pytest.raises(PolicyError) as info:
        parse_policy(WEST_KENT.replace("damp_and_mould =", '"Damp and mould" ='), "p.toml")
    assert "categories: Value error, Damp and mould: a key is lower case letters" in str(info.value)
    with pytest.raises(PolicyError, match=r"root_causes: Value error, delay: give a label"):
        parse_policy(WEST_KENT.replace('delay = "Delay or missed appointment"', 'delay = " "'))


def test_a_policy_without_the_later_sections_keeps_its_hash() -> None:
    """Cases lodged under a policy without categories show its content hash: adding the optional
    sections to the model must not change it (the 2024 hash, computed by the code before)."""
    legacy = legacy_policy()
    assert legacy.categories is None and legacy.root_causes is None
    assert legacy.content_hash.startswith("f4a5b82ed74aa3a0")
    without = WEST_KENT.split("\n[categories]")[0]
    assert parse_policy(without).categories is None
    assert parse_policy(without).content_hash != parse_policy(WEST_KENT).content_hash
