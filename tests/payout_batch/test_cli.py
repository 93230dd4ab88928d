"""`kohort payout-batches build`, run as an operator runs it (the virtualenv's `kohort` in a
subprocess): the batches of every account with approved SEPA payouts waiting, built now, or of
one organization and mode. On a database of its own (this module's), since without
`--organization` it builds every organization's."""

import re

import httpx

from kohort.config import Settings
from kohort.db import Database
from tests.factories import Org, make_organization
from tests.organization.test_organizations import run_cli
from tests.payout_batch.test_batches import batches, set_debtor
from tests.payout_batch.test_build_now import waiting
from tests.withdrawal.flow import payouts_of

BUILT = re.compile(
    r"^(pb_[0-9a-f]+) \((test|live)\) of (org_[0-9a-f]+): (\d+) payout\(s\), "
    r"(\d+\.\d\d) EUR, file (KOHORT-\d{8}-[0-9A-F]+)$"
)


def built(stdout: str) -> dict[tuple[str, str], tuple[str, int, str]]:
    """(organization, mode) → (batch id, payouts, total) of each line the command printed."""
    lines = [BUILT.match(line) for line in stdout.splitlines()]
    assert all(lines), stdout
    return {(m[3], m[2]): (m[1], int(m[4]), m[5]) for m in lines if m}


async def test_every_waiting_account_is_batched_now_and_a_missing_debtor_is_reported(
    sepa_client: httpx.AsyncClient, sepa_db: Database, sepa_settings: Settings
) -> None:
    client, db, settings = sepa_client, sepa_db, sepa_settings
    ada, bob, eve = [await make_organization(db, name=n) for n in ("Ada", "Bob", "Eve")]
    await set_debtor(client, bob)
    await waiting(client, db, settings, ada, ada.sk_test)
    await waiting(client, db, settings, bob, bob.sk_live)
    await waiting(client, db, settings, bob, bob.sk_test)
    stuck = await waiting(client, db, settings, eve, eve.sk_live)

    code, stdout, stderr = await run_cli(settings, "payout-batches", "build")

    assert code == 1, stderr
    mine = {ada.id, bob.id, eve.id}
    lines = {account: line for account, line in built(stdout).items() if account[0] in mine}
    assert set(lines) == {(ada.id, "test"), (bob.id, "live"), (bob.id, "test")}
    assert {(count, total) for _, count, total in lines.values()} == {(2, "17.34")}
    for (organization, mode), (batch_id, _, _) in lines.items():
        shop = next(s for s in (ada, bob) if s.id == organization)
        page = await batches(client, shop.keys[f"sk_{mode}"])
        assert [b["id"] for b in page["data"]] == [batch_id]
    assert f"{eve.id} (live)" in stderr and "payoutDebtorName" in stderr
    for order in stuck:
        [payout] = await payouts_of(client, eve.sk_live, order["id"])
        assert payout["status"] == "pending" and payout["batchId"] is None

    code, stdout, stderr = await run_cli(settings, "payout-batches", "build", "--test")
    assert (code, stdout.strip()) == (0, "No approved SEPA payout waits for a batch."), stderr


async def test_one_organization_and_mode_is_batched_alone(
    sepa_client: httpx.AsyncClient, sepa_db: Database, sepa_settings: Settings, shop: Org
) -> None:
    client, db, settings = sepa_client, sepa_db, sepa_settings
    other = await make_organization(db, name="Other")
    await set_debtor(client, shop)
    live = await waiting(client, db, settings, shop, shop.sk_live)
    await waiting(client, db, settings, shop, shop.sk_test)
    theirs = await waiting(client, db, settings, other, other.sk_test)

    code, stdout, stderr = await run_cli(
        settings, "payout-batches", "build", "--organization", shop.id, "--test"
    )

    assert code == 0, stderr
    assert set(built(stdout)) == {(shop.id, "test")}
    for key, orders in ((shop.sk_live, live), (other.sk_test, theirs)):
        for order in orders:
            [payout] = await payouts_of(client, key, order["id"])
            assert payout["batchId"] is None
    assert (await batches(client, shop.sk_test))["count"] == 1
    assert (await batches(client, shop.sk_live))["count"] == 0
