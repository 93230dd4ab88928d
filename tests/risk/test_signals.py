"""Risk signals: what ties a candidate order to the group's members, and what is suspicious
about the candidate alone. Each signal is shown matching and, as often, not matching."""

from dataclasses import replace

import pytest

from kohort.risk.signals import (
    BURST_MINUTES,
    BURST_ORDERS,
    LEVELS,
    MAX_REASONS,
    Level,
    Person,
    Reason,
    company_domain,
    compare,
    ip_key,
    is_disposable,
    level_of,
    mailbox_key,
    name_key,
    own_signals,
    ranked,
    reason_data,
)

CANDIDATE = Person(email="candidate.one@gmail.com")
MEMBER = Person(email="someone.else@outlook.com")


def _codes(candidate: Person, member: Person) -> list[str]:
    return [reason.code for reason in compare(candidate, [member])]


def _wide(text: str) -> str:
    """`text` in full-width forms, as East Asian keyboards type it."""
    return "".join(chr(ord(char) + 0xFEE0) for char in text)


def _reason(candidate: Person, member: Person, code: str) -> Reason:
    (found,) = [reason for reason in compare(candidate, [member]) if reason.code == code]
    return found


def test_unrelated_people_give_no_reason() -> None:
    assert compare(CANDIDATE, [MEMBER]) == []


def test_an_empty_group_gives_no_reason() -> None:
    assert compare(CANDIDATE, []) == []


@pytest.mark.parametrize(
    ("email", "key"),
    [
        ("A.B.c+promo@gmail.com", "abc@gmail.com"),
        ("a.b.c@GoogleMail.com", "abc@gmail.com"),
        ("ABC@Gmail.COM", "abc@gmail.com"),
        ("a.b+x+y@googlemail.com", "ab@gmail.com"),
        ("a.b+x@outlook.com", "a.b@outlook.com"),
        ("a+x@hotmail.fr", "a@hotmail.fr"),
        ("a+x@hotmail.co.uk", "a@hotmail.co.uk"),
        ("a+x@live.fr", "a@live.fr"),
        ("a+x@msn.com", "a@msn.com"),
        ("john+shop@icloud.com", "john@icloud.com"),
        ("john+shop@me.com", "john@me.com"),
        ("john+shop@mac.com", "john@mac.com"),
        ("j.doe+1@fastmail.fm", "j.doe@fastmail.fm"),
        ("j.doe+1@fastmail.com", "j.doe@fastmail.com"),
        ("j.doe+1@protonmail.ch", "j.doe@protonmail.ch"),
        ("j.doe+1@protonmail.com", "j.doe@protonmail.com"),
        ("j.doe+1@proton.me", "j.doe@proton.me"),
        ("j.doe+1@pm.me", "j.doe@pm.me"),
        ("ivan+shop@yandex.ru", "ivan@yandex.ru"),
        ("ivan+shop@zoho.com", "ivan@zoho.com"),
        ("ana.b-shop@yahoo.fr", "ana.b@yahoo.fr"),
        ("ana-shop@yahoo.co.uk", "ana@yahoo.co.uk"),
        ("ana-shop@ymail.com", "ana@ymail.com"),
        ("ana-shop@rocketmail.com", "ana@rocketmail.com"),
        ("ana+shop@yahoo.fr", "ana+shop@yahoo.fr"),
        ("a-b@gmail.com", "a-b@gmail.com"),
        ("A.B+Sales@Acme.Example", "a.b+sales@acme.example"),
        ("x+y@live.acme.example", "x+y@live.acme.example"),
        ("+tag@gmail.com", "+tag@gmail.com"),
        ("not-an-address", "not-an-address"),
    ],
)
def test_mailbox_key_applies_the_providers_rules(email: str, key: str) -> None:
    assert mailbox_key(email) == key


@pytest.mark.parametrize(
    ("mine", "theirs"),
    [
        ("ana.b+2@gmail.com", "anab@gmail.com"),
        ("Ana.B@googlemail.com", "anab@gmail.com"),
        ("ANAB@GMAIL.COM", "anab@gmail.com"),
        ("a+x@hotmail.fr", "a@hotmail.fr"),
        ("ana+shop@outlook.com", "Ana@outlook.com"),
        ("ana-shop@yahoo.fr", "ana@yahoo.fr"),
        ("Ana@Acme.Example", "ana@acme.example"),
    ],
)
def test_addresses_of_one_mailbox_are_the_same_mailbox(mine: str, theirs: str) -> None:
    found = compare(Person(email=mine), [Person(email=theirs)])
    assert Reason("SAME_MAILBOX", "HIGHEST", f"{mine} = {theirs}") in found
    assert "SIMILAR_EMAIL" not in [r.code for r in found]


def test_the_same_raw_address_is_the_same_mailbox_and_does_not_crash() -> None:
    assert _codes(Person(email="ana@gmail.com"), Person(email="ana@gmail.com")) == ["SAME_MAILBOX"]


@pytest.mark.parametrize(
    ("mine", "theirs"),
    [
        ("a.b@outlook.com", "ab@outlook.com"),
        ("a.b@hotmail.fr", "ab@hotmail.fr"),
        ("ana.b@yahoo.fr", "anab@yahoo.fr"),
        ("a-b@gmail.com", "ab@gmail.com"),
        ("anna@gmail.com", "ana@gmail.com"),
        ("ana1@gmail.com", "ana12@gmail.com"),
    ],
)
def test_one_edit_apart_is_similar_not_the_same_mailbox(mine: str, theirs: str) -> None:
    found = compare(Person(email=mine), [Person(email=theirs)])
    assert found == [Reason("SIMILAR_EMAIL", "HIGH", f"{mine} ~ {theirs}")]


@pytest.mark.parametrize(
    ("mine", "theirs"),
    [
        ("a+bc@acme.example", "a@acme.example"),
        ("ana+x@yahoo.fr", "ana@yahoo.fr"),
        ("ana1@gmail.com", "ana123@gmail.com"),
        ("ana@gmail.com", "bob@gmail.com"),
        ("ana.silva@gmail.com", "ana.silva@hotmail.com"),
        ("x+y@live.acme.example", "x@live.acme.example"),
    ],
)
def test_other_mailboxes_are_neither_same_nor_similar(mine: str, theirs: str) -> None:
    codes = _codes(Person(email=mine), Person(email=theirs))
    assert "SAME_MAILBOX" not in codes
    assert "SIMILAR_EMAIL" not in codes


@pytest.mark.parametrize(
    ("first", "last", "key"),
    [
        ("Zoë ", " Müller", "zoe muller"),
        ("JOSÉ-LUIS", "García", "jose luis garcia"),
        (_wide("John"), _wide("Smith"), "john smith"),
        ("Иван", "ПЕТРОВ", "иван петров"),
        ("Jean - Luc", "O\u2019Brien", "jean luc o brien"),
        ("Anne  Marie", "d'Arc", "anne marie d arc"),
        ("Ana", None, None),
        ("Ana", "   ", None),
        (None, "Silva", None),
        ("-", "Silva", None),
    ],
)
def test_name_key(first: str | None, last: str | None, key: str | None) -> None:
    assert name_key(first, last) == key


@pytest.mark.parametrize(
    ("mine", "theirs"),
    [
        (("Zoë", "Müller"), ("zoe", "muller")),
        (("Zoë", "Müller"), ("Zoe\u0308", "MU\u0308LLER")),
        (("JOSÉ-LUIS", "García"), ("jose luis", "garcia")),
        ((_wide("John"), _wide("Smith")), ("John", "Smith")),
        (("Иван", "Петров"), ("иван", "петров")),
        (("Mary-Jane", "O'Neil"), ("Mary Jane", "O\u2019Neil")),
    ],
)
def test_one_name_spelled_two_ways_is_the_same_name(
    mine: tuple[str, str], theirs: tuple[str, str]
) -> None:
    candidate = replace(CANDIDATE, first_name=mine[0], last_name=mine[1])
    member = replace(MEMBER, first_name=f" {theirs[0]}", last_name=theirs[1])
    found = _reason(candidate, member, "SAME_NAME")
    assert found == Reason("SAME_NAME", "HIGHEST", f"{theirs[0]} {theirs[1]}")


@pytest.mark.parametrize(
    ("mine", "theirs"),
    [
        (("Ana", "Silva"), ("Anna", "Silva")),
        (("Ana", "Silva"), ("Ana", "Silvia")),
        (("Иван", "Петров"), ("Ivan", "Petrov")),
        (("Ana", None), ("Ana", None)),
        (("Ana", ""), ("Ana", "")),
        ((None, "Silva"), (None, "Silva")),
        ((None, None), (None, None)),
    ],
)
def test_different_or_one_word_names_never_match(
    mine: tuple[str | None, str | None], theirs: tuple[str | None, str | None]
) -> None:
    candidate = replace(CANDIDATE, first_name=mine[0], last_name=mine[1])
    member = replace(MEMBER, first_name=theirs[0], last_name=theirs[1])
    assert "SAME_NAME" not in _codes(candidate, member)


@pytest.mark.parametrize(
    ("mine", "theirs", "detail"),
    [
        ("+33612345678", "+33612345678", "+33612345678"),
        ("+33 6 12 34 56 78", "+33612345678", "+33612345678"),
        ("+33 (0)6 12 34 56 78", "+33612345678", "+33612345678"),
        ("+33-6-12-34-56-78", "+33 6 12 34 56 78", "+33612345678"),
        ("+44 7700 900123", "+447700900123", "+447700900123"),
        ("+1 415 555 2671", "+14155552671", "+14155552671"),
        ("+1 (415) 555-2671", "+1-415-555-2671", "+14155552671"),
        ("12-34", "1234", "1234"),
    ],
)
def test_one_number_written_two_ways_is_the_same_phone(mine: str, theirs: str, detail: str) -> None:
    found = _reason(replace(CANDIDATE, phone=mine), replace(MEMBER, phone=theirs), "SAME_PHONE")
    assert found == Reason("SAME_PHONE", "HIGH", detail)


@pytest.mark.parametrize(
    ("mine", "theirs"),
    [
        ("+447700900123", "+33700900123"),
        ("+14155552671", "+14155552672"),
        ("+14155552671", "+4414155552671"),
        ("+33612345678", None),
        (None, "+33612345678"),
        (None, None),
        ("", ""),
        ("abc", "abc"),
    ],
)
def test_different_or_missing_phones_never_match(mine: str | None, theirs: str | None) -> None:
    codes = _codes(replace(CANDIDATE, phone=mine), replace(MEMBER, phone=theirs))
    assert "SAME_PHONE" not in codes


def _fingerprinted(person: Person, field: str, value: str | None) -> Person:
    return replace(person, payment=value) if field == "payment" else replace(person, device=value)


@pytest.mark.parametrize(
    ("field", "code", "level"),
    [("payment", "SAME_PAYMENT_FINGERPRINT", "HIGHEST"), ("device", "SAME_DEVICE", "HIGH")],
)
@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ("fp_1", "fp_1"),
        ("abcdefghijkl", "abcdefghijkl"),
        ("abcdefghijklm", "abcdefgh…"),
        ("card_1NxTq2AbCdEfGhIj", "card_1Nx…"),
    ],
)
def test_an_equal_fingerprint_matches_and_long_ones_are_shortened(
    field: str, code: str, level: Level, value: str, detail: str
) -> None:
    candidate = _fingerprinted(CANDIDATE, field, value)
    member = _fingerprinted(MEMBER, field, value)
    assert compare(candidate, [member]) == [Reason(code, level, detail)]


@pytest.mark.parametrize("field", ["payment", "device"])
@pytest.mark.parametrize(
    ("mine", "theirs"),
    [("fp_1", "fp_2"), ("fp_1", "FP_1"), ("fp_1", None), (None, None), ("", "")],
)
def test_different_or_missing_fingerprints_never_match(
    field: str, mine: str | None, theirs: str | None
) -> None:
    candidate = _fingerprinted(CANDIDATE, field, mine)
    member = _fingerprinted(MEMBER, field, theirs)
    assert compare(candidate, [member]) == []


def test_a_payment_and_a_device_fingerprint_are_not_compared_with_each_other() -> None:
    candidate = replace(CANDIDATE, payment="fp_1")
    member = replace(MEMBER, device="fp_1")
    assert compare(candidate, [member]) == []


@pytest.mark.parametrize(
    ("ip", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7 ", "203.0.113.7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2::1", "2001:db8:1:2::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        ("not an ip", None),
        ("203.0.113.256", None),
        ("", None),
        (None, None),
    ],
)
def test_ip_key(ip: str | None, key: str | None) -> None:
    assert ip_key(ip) == key


@pytest.mark.parametrize(
    ("mine", "theirs"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2::1", "2001:db8:1:2:ffff::9"),
        ("2001:db8:1:2::1", "2001:DB8:1:2:0:0:0:1"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("203.0.113.7", "::ffff:cb00:7107"),
    ],
)
def test_one_address_or_one_ipv6_64_is_the_same_ip(mine: str, theirs: str) -> None:
    found = compare(replace(CANDIDATE, ip=mine), [replace(MEMBER, ip=theirs)])
    assert found == [Reason("SAME_IP", "MEDIUM", mine)]


@pytest.mark.parametrize(
    ("mine", "theirs"),
    [
        ("203.0.113.7", "203.0.113.8"),
        ("2001:db8:1:2::1", "2001:db8:1:3::1"),
        ("::ffff:203.0.113.7", "203.0.113.8"),
        ("garbage", "garbage"),
        ("203.0.113.7", None),
        (None, None),
        ("", ""),
    ],
)
def test_other_or_unreadable_addresses_are_not_the_same_ip(
    mine: str | None, theirs: str | None
) -> None:
    assert compare(replace(CANDIDATE, ip=mine), [replace(MEMBER, ip=theirs)]) == []


@pytest.mark.parametrize(
    "email",
    [
        "x@mailinator.com",
        "X@MAILINATOR.COM",
        "x@eu.mailinator.com",
        "x@a.b.mailinator.com",
        "x@guerrillamail.com",
    ],
)
def test_throwaway_domains_and_their_subdomains_are_disposable(email: str) -> None:
    assert is_disposable(email)
    assert own_signals(Person(email=email), recent_orders_from_ip=0) == [
        Reason("DISPOSABLE_EMAIL", "HIGH", email.rpartition("@")[2].lower())
    ]


@pytest.mark.parametrize(
    "email",
    ["x@gmail.com", "x@orange.fr", "x@acme.example", "x@mailinator.com.acme.example", "nobody"],
)
def test_ordinary_domains_are_not_disposable(email: str) -> None:
    assert not is_disposable(email)
    assert own_signals(Person(email=email), recent_orders_from_ip=0) == []


@pytest.mark.parametrize(
    ("email", "domain"),
    [
        ("Ana@Acme.Example", "acme.example"),
        ("ana@shop.acme.example", "shop.acme.example"),
        ("x+y@live.acme.example", "live.acme.example"),
        ("ana@gmail.com", None),
        ("ana@googlemail.com", None),
        ("ana@orange.fr", None),
        ("ana@hotmail.fr", None),
        ("ana@yahoo.co.jp", None),
        ("ana@proton.me", None),
        ("ana@mailinator.com", None),
        ("ana@eu.mailinator.com", None),
        ("nobody", None),
    ],
)
def test_company_domain(email: str, domain: str | None) -> None:
    assert company_domain(email) == domain


def test_two_addresses_of_one_company_share_its_domain() -> None:
    found = compare(Person(email="ana@acme.example"), [Person(email="bob@ACME.example")])
    assert found == [Reason("COMPANY_DOMAIN", "MEDIUM", "acme.example")]


@pytest.mark.parametrize(
    ("mine", "theirs"),
    [
        ("ana@gmail.com", "bob@gmail.com"),
        ("ana@orange.fr", "bob@orange.fr"),
        ("ana@hotmail.fr", "bob@hotmail.fr"),
        ("ana@mailinator.com", "bob@mailinator.com"),
        ("ana@acme.example", "bob@other.example"),
        ("ana@acme.example", "bob@shop.acme.example"),
    ],
)
def test_free_throwaway_or_different_domains_are_no_company_domain(mine: str, theirs: str) -> None:
    assert "COMPANY_DOMAIN" not in _codes(Person(email=mine), Person(email=theirs))


SELF_JOIN_MATCHES = [
    (Person(email="ana.b+2@gmail.com"), Person(email="anab@gmail.com"), "same mailbox"),
    (Person(email="a.b@outlook.com"), Person(email="ab@outlook.com"), "similar e-mail"),
    (
        replace(CANDIDATE, phone="+33612345678"),
        replace(MEMBER, phone="+336 12 34 56 78"),
        "same phone",
    ),
    (
        replace(CANDIDATE, payment="fp_1"),
        replace(MEMBER, payment="fp_1"),
        "same payment fingerprint",
    ),
    (replace(CANDIDATE, device="dev_1"), replace(MEMBER, device="dev_1"), "same device"),
]


@pytest.mark.parametrize(("candidate", "member", "what"), SELF_JOIN_MATCHES)
def test_matching_the_creator_is_a_self_join(candidate: Person, member: Person, what: str) -> None:
    found = _reason(candidate, replace(member, creator=True), "CREATOR_SELF_JOIN")
    assert found == Reason(
        "CREATOR_SELF_JOIN", "HIGHEST", f"looks like the group's creator: {what}"
    )


@pytest.mark.parametrize(("candidate", "member", "what"), SELF_JOIN_MATCHES)
def test_matching_another_member_is_no_self_join(
    candidate: Person, member: Person, what: str
) -> None:
    creator = Person(email="the.creator@hotmail.fr", creator=True)
    codes = [reason.code for reason in compare(candidate, [creator, member])]
    assert codes
    assert "CREATOR_SELF_JOIN" not in codes


@pytest.mark.parametrize(
    ("candidate", "member"),
    [
        (
            replace(CANDIDATE, first_name="Ana", last_name="Silva"),
            replace(MEMBER, first_name="Ana", last_name="Silva"),
        ),
        (replace(CANDIDATE, ip="203.0.113.7"), replace(MEMBER, ip="203.0.113.7")),
        (Person(email="ana@acme.example"), Person(email="bob@acme.example")),
    ],
)
def test_weaker_matches_with_the_creator_are_no_self_join(
    candidate: Person, member: Person
) -> None:
    codes = _codes(candidate, replace(member, creator=True))
    assert codes
    assert "CREATOR_SELF_JOIN" not in codes


def test_a_self_join_lists_everything_that_matched_once() -> None:
    candidate = Person(email="ana.b+2@gmail.com", phone="+33612345678", payment="fp_1")
    creator = Person(
        email="anab@gmail.com", phone="+33 6 12 34 56 78", payment="fp_1", creator=True
    )
    found = [r for r in compare(candidate, [creator, creator]) if r.code == "CREATOR_SELF_JOIN"]
    assert found == [
        Reason(
            "CREATOR_SELF_JOIN",
            "HIGHEST",
            "looks like the group's creator: same mailbox, same phone, same payment fingerprint",
        )
    ]


def test_reasons_come_strongest_first_then_by_code() -> None:
    candidate = Person(
        email="ana.b@acme.example",
        first_name="Ana",
        last_name="Silva",
        phone="+33612345678",
        ip="203.0.113.7",
        device="dev_1",
        payment="fp_1",
    )
    member = Person(
        email="anab@acme.example",
        first_name="ana",
        last_name="silva",
        phone="+33612345678",
        ip="203.0.113.7",
        device="dev_1",
        payment="fp_1",
        creator=True,
    )
    found = compare(candidate, [member])
    assert [(r.level, r.code) for r in found] == [
        ("HIGHEST", "CREATOR_SELF_JOIN"),
        ("HIGHEST", "SAME_NAME"),
        ("HIGHEST", "SAME_PAYMENT_FINGERPRINT"),
        ("HIGH", "SAME_DEVICE"),
        ("HIGH", "SAME_PHONE"),
        ("HIGH", "SIMILAR_EMAIL"),
        ("MEDIUM", "COMPANY_DOMAIN"),
        ("MEDIUM", "SAME_IP"),
    ]


def test_several_members_each_give_a_reason_but_one_per_code_and_detail() -> None:
    candidate = Person(email="ana@acme.example", ip="203.0.113.7")
    members = [
        Person(email="anna@acme.example", ip="203.0.113.7"),
        Person(email="anx@acme.example", ip="203.0.113.7"),
        Person(email="bob@acme.example", ip="203.0.113.9"),
    ]
    assert compare(candidate, members) == [
        Reason("SIMILAR_EMAIL", "HIGH", "ana@acme.example ~ anna@acme.example"),
        Reason("SIMILAR_EMAIL", "HIGH", "ana@acme.example ~ anx@acme.example"),
        Reason("COMPANY_DOMAIN", "MEDIUM", "acme.example"),
        Reason("SAME_IP", "MEDIUM", "203.0.113.7"),
    ]


def test_at_most_ten_reasons_are_kept_and_the_strongest_survive() -> None:
    candidate = Person(email="user0@gmail.com", payment="fp_1")
    members = [Person(email=f"user{n}@gmail.com") for n in range(1, 10)]
    members += [Person(email=f"user{n}@gmail.com") for n in "abcdef"]
    members.append(Person(email="someone.else@outlook.com", payment="fp_1"))
    found = compare(candidate, members)
    assert len(found) == 10
    assert found[0] == Reason("SAME_PAYMENT_FINGERPRINT", "HIGHEST", "fp_1")
    assert {r.code for r in found[1:]} == {"SIMILAR_EMAIL"}


@pytest.mark.parametrize(("already", "burst"), [(0, False), (1, False), (2, True), (3, True)])
def test_a_burst_is_the_third_order_from_one_address(already: int, burst: bool) -> None:
    candidate = replace(CANDIDATE, ip="203.0.113.7")
    found = own_signals(candidate, recent_orders_from_ip=already)
    detail = f"{already + 1} orders from 203.0.113.7 in {BURST_MINUTES} minutes"
    assert found == ([Reason("BURST", "HIGH", detail)] if burst else [])


def test_the_burst_threshold_is_three_orders_in_ten_minutes() -> None:
    assert (BURST_ORDERS, BURST_MINUTES) == (3, 10)
    found = own_signals(replace(CANDIDATE, ip="203.0.113.7"), recent_orders_from_ip=3)
    assert found[0].detail == "4 orders from 203.0.113.7 in 10 minutes"


@pytest.mark.parametrize("ip", [None, "", "  "])
def test_without_an_address_there_is_never_a_burst(ip: str | None) -> None:
    assert own_signals(replace(CANDIDATE, ip=ip), recent_orders_from_ip=50) == []


def test_own_signals_come_ordered_by_code() -> None:
    candidate = Person(email="x@mailinator.com", ip="203.0.113.7")
    assert [r.code for r in own_signals(candidate, recent_orders_from_ip=2)] == [
        "BURST",
        "DISPOSABLE_EMAIL",
    ]


@pytest.mark.parametrize(
    ("levels", "level"),
    [
        ([], "LOW"),
        (["LOW"], "LOW"),
        (["MEDIUM"], "MEDIUM"),
        (["MEDIUM", "HIGH", "MEDIUM"], "HIGH"),
        (["HIGH", "HIGHEST", "MEDIUM"], "HIGHEST"),
        (["LOW", "MEDIUM"], "MEDIUM"),
    ],
)
def test_level_of_is_the_highest_level(levels: list[Level], level: Level) -> None:
    assert level_of([Reason("X", lvl, "") for lvl in levels]) == level


def test_levels_go_from_low_to_highest() -> None:
    assert LEVELS == ("LOW", "MEDIUM", "HIGH", "HIGHEST")


def test_reason_data_is_a_json_ready_dict() -> None:
    reason = Reason("SAME_IP", "MEDIUM", "203.0.113.7")
    assert reason_data(reason) == {"code": "SAME_IP", "level": "MEDIUM", "detail": "203.0.113.7"}


def test_full_width_names_in_these_tests_really_are_full_width() -> None:
    assert _wide("Jo") == "\uff2a\uff4f"


def test_a_joins_reasons_and_its_own_together_keep_the_cap() -> None:
    members = [Person(email=f"user{n}@gmail.com", ip="203.0.113.7") for n in range(1, 10)]
    joined = compare(Person(email="user0@gmail.com", ip="203.0.113.7"), members)
    own = own_signals(Person(email="x@mailinator.com", ip="203.0.113.7"), recent_orders_from_ip=5)
    combined = ranked([*joined, *own])
    assert len(combined) == MAX_REASONS
    assert combined[0].level == "HIGH" and level_of(combined) == "HIGH"
