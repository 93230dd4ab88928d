"""Every rule of DOMAIN.md §3: a broken one answers 400 VALIDATION_ERROR naming the field,
and the settings stay as they were."""

from typing import Any

import httpx
import pytest

from tests.factories import Org
from tests.group_settings.api import get, levels, patch, patched
from tests.shapes import assert_error

AMOUNT_LEVELS = {"discountType": "AMOUNT", "discountLevels": levels((2, 50), (3, 200))}
FRACTIONAL_LEVELS = {"discountLevels": levels((2, 5.5), (3, 10))}

CASES: list[tuple[str, dict[str, Any] | None, dict[str, Any], str]] = [
    ("no levels", None, {"discountLevels": []}, "discountLevels"),
    ("six levels", None, {"discountLevels": levels(*((n, n) for n in range(2, 8)))},
     "discountLevels"),
    ("null levels", None, {"discountLevels": None}, "discountLevels"),
    ("level 1 not at 2", None, {"discountLevels": levels((3, 5))},
     "discountLevels[0].participantsToUnlock"),
    ("level 1 at 1", None, {"discountLevels": levels((1, 5), (2, 6))},
     "discountLevels[0].participantsToUnlock"),
    ("unlock repeated", None, {"discountLevels": levels((2, 5), (5, 10), (5, 15))},
     "discountLevels[2].participantsToUnlock"),
    ("unlock decreasing", None, {"discountLevels": levels((2, 5), (5, 10), (4, 15))},
     "discountLevels[2].participantsToUnlock"),
    ("unlock past 1000", None, {"maxParticipants": 1000,
                                "discountLevels": levels((2, 5), (1001, 10))},
     "discountLevels[1].participantsToUnlock"),
    ("unlock past max", None, {"discountLevels": levels((2, 5), (16, 10))},
     "discountLevels[1].participantsToUnlock"),
    ("value zero", None, {"discountLevels": levels((2, 0))}, "discountLevels[0].value"),
    ("value negative", None, {"discountLevels": levels((2, -5))}, "discountLevels[0].value"),
    ("value repeated", None, {"discountLevels": levels((2, 5), (3, 10), (4, 10))},
     "discountLevels[2].value"),
    ("value decreasing", None, {"discountLevels": levels((2, 5), (3, 4))},
     "discountLevels[1].value"),
    ("percent over 100", None, {"discountLevels": levels((2, 50), (3, "100.01"))},
     "discountLevels[1].value"),
    ("three decimals", None, {"discountLevels": levels((2, "5.555"))},
     "discountLevels[0].value"),
    ("tiny decimal", None, {"discountLevels": levels((2, "5.000000000000000000000000000001"))},
     "discountLevels[0].value"),
    ("amount not whole", None, {"discountType": "AMOUNT", "discountLevels": levels((2, 5.5))},
     "discountLevels[0].value"),
    ("amount too large", None, {"discountType": "AMOUNT",
                                "discountLevels": levels((2, 10**14))},
     "discountLevels[0].value"),
    ("level number off", None,
     {"discountLevels": [{"level": 2, "participantsToUnlock": 2, "value": 5}]},
     "discountLevels[0].level"),
    ("to percent with amounts over 100", AMOUNT_LEVELS, {"discountType": "PERCENTAGE"},
     "discountType"),
    ("to amount with fractions", FRACTIONAL_LEVELS, {"discountType": "AMOUNT"}, "discountType"),
    ("unknown type", None, {"discountType": "FIXED"}, "discountType"),
    ("null type", None, {"discountType": None}, "discountType"),
    ("max 1", None, {"maxParticipants": 1}, "maxParticipants"),
    ("max 1001", None, {"maxParticipants": 1001}, "maxParticipants"),
    ("max below last level", None, {"maxParticipants": 9}, "maxParticipants"),
    ("max below given last level", None,
     {"maxParticipants": 5, "discountLevels": levels((2, 5), (6, 10))}, "maxParticipants"),
    ("max null", None, {"maxParticipants": None}, "maxParticipants"),
    ("max text", None, {"maxParticipants": "many"}, "maxParticipants"),
    ("duration 0", None, {"minutesDuration": 0}, "minutesDuration"),
    ("duration past 90 days", None, {"minutesDuration": 129_601}, "minutesDuration"),
    ("duration null", None, {"minutesDuration": None}, "minutesDuration"),
    ("min purchase negative", None, {"minPurchaseValue": -1}, "minPurchaseValue"),
    ("min purchase unsafe", None, {"minPurchaseValue": 2**53}, "minPurchaseValue"),
    ("min purchase past bigint", None, {"minPurchaseValue": 2**63}, "minPurchaseValue"),
    ("min purchase fraction", None, {"minPurchaseValue": 10.5}, "minPurchaseValue"),
    ("min purchase null", None, {"minPurchaseValue": None}, "minPurchaseValue"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("setup", "body", "param"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
async def test_a_broken_rule_is_refused_and_nothing_changes(
    client: httpx.AsyncClient,
    org: Org,
    setup: dict[str, Any] | None,
    body: dict[str, Any],
    param: str,
) -> None:
    if setup is not None:
        await patched(client, org, setup)
    before = await get(client, org)
    others = {"minutesDuration": 77} if "minutesDuration" not in body else {"minPurchaseValue": 9}
    error = assert_error(await patch(client, org, {**others, **body}), 400, "VALIDATION_ERROR")
    assert error["param"] == param, error
    assert param in error["message"]
    assert await get(client, org) == before


@pytest.mark.parametrize("value", ["NaN", "Infinity", "five", True, None, [5], {"v": 5}], ids=repr)
async def test_a_level_value_that_is_no_number_is_refused(
    client: httpx.AsyncClient, org: Org, value: Any
) -> None:
    before = await get(client, org)
    response = await patch(
        client, org, {"discountLevels": [{"participantsToUnlock": 2, "value": value}]}
    )
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert "discountLevels" in error["param"] and "value" in error["param"]
    assert await get(client, org) == before


@pytest.mark.parametrize("body", [[], "text", 5, None], ids=repr)
async def test_a_body_that_is_no_object_is_refused(
    client: httpx.AsyncClient, org: Org, body: Any
) -> None:
    before = await get(client, org)
    assert_error(await patch(client, org, body), 400, "VALIDATION_ERROR")
    assert await get(client, org) == before
