from tests.factories import Org, bearer


async def test_empty_list(client, org: Org) -> None:
    response = await client.get("/customers", headers=bearer(org.sk_test))
    assert response.status_code == 200
    assert response.json() == {"data": [], "count": 0}
