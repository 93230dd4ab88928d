"""The brand (`GET/PATCH /organizations/{id}/brand`, its uploads, `/brand-assets/{id}`):
defaults, live-key rule, validation that changes nothing, derived colours, merged messages,
uploaded images served as sent, the audit log."""

from typing import Any

import httpx

from tests.brand.images import picture
from tests.factories import Org, bearer, make_organization
from tests.shapes import assert_error

BRAND_FIELDS = {
    "displayName",
    "shopName",
    "logoUrl",
    "socialImageUrl",
    "brandColor",
    "color",
    "textColor",
    "accentColor",
    "websiteUrl",
    "shareMessages",
}


def luminance(color: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def ratio(first: str, second: str) -> float:
    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


async def brand(client: httpx.AsyncClient, org: Org, key: str | None = None) -> dict[str, Any]:
    response = await client.get(
        f"/organizations/{org.id}/brand", headers=bearer(key or org.sk_test)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == BRAND_FIELDS
    return body


async def patch(client: httpx.AsyncClient, org: Org, body: dict[str, Any]) -> httpx.Response:
    return await client.patch(
        f"/organizations/{org.id}/brand", json=body, headers=bearer(org.sk_live)
    )


async def upload(
    client: httpx.AsyncClient,
    org: Org,
    kind: str,
    data: bytes,
    content_type: str = "image/png",
    key: str | None = None,
) -> httpx.Response:
    return await client.put(
        f"/organizations/{org.id}/brand/{kind}",
        content=data,
        headers={**bearer(key or org.sk_live), "Content-Type": content_type},
    )


async def test_a_new_organization_shows_kohorts_brand_under_its_name(
    client: httpx.AsyncClient, org: Org
) -> None:
    test, live = await brand(client, org), await brand(client, org, org.sk_live)
    assert (
        test
        == live
        == {
            "displayName": None,
            "shopName": "Test Shop",
            "logoUrl": None,
            "socialImageUrl": None,
            "brandColor": None,
            "color": "#1F5F3A",
            "textColor": "#FFFFFF",
            "accentColor": "#1F5F3A",
            "websiteUrl": None,
            "shareMessages": {},
        }
    )


async def test_a_live_key_sets_the_brand_and_the_colours_are_derived_for_contrast(
    client: httpx.AsyncClient, org: Org
) -> None:
    response = await patch(
        client,
        org,
        {
            "displayName": "Maison Ana",
            "logoUrl": "https://cdn.shop.example/logo.png",
            "brandColor": "#ffd700",
            "websiteUrl": "https://shop.example",
            "shareMessages": {
                "fr": "Mon code {code} chez {shop} : jusqu'à {best} remboursés ! {link}"
            },
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == await brand(client, org)
    assert body["shopName"] == "Maison Ana"
    assert body["brandColor"] == body["color"] == "#FFD700"
    # Gold is light: black text on it; the accent on white is a darker gold.
    assert body["textColor"] == "#000000"
    assert ratio(body["color"], body["textColor"]) >= 4.5
    assert body["accentColor"] != "#FFD700"
    assert ratio(body["accentColor"], "#FFFFFF") >= 4.5
    assert body["logoUrl"] == "https://cdn.shop.example/logo.png"
    dark = (await patch(client, org, {"brandColor": "#123"})).json()
    assert (dark["color"], dark["textColor"], dark["accentColor"]) == ("#112233",) * 1 + (
        "#FFFFFF",
        "#112233",
    )


async def test_share_messages_merge_per_language_and_null_removes_them(
    client: httpx.AsyncClient, org: Org
) -> None:
    await patch(client, org, {"shareMessages": {"en": "Use {code}!", "de": "Code {code}: {link}"}})
    merged = await patch(client, org, {"shareMessages": {"en": None, "nl": "Mijn code {code}"}})
    assert merged.json()["shareMessages"] == {"de": "Code {code}: {link}", "nl": "Mijn code {code}"}
    cleared = await patch(client, org, {"shareMessages": None})
    assert cleared.json()["shareMessages"] == {}


async def test_a_test_key_reads_the_brand_but_cannot_change_it(
    client: httpx.AsyncClient, org: Org
) -> None:
    response = await client.patch(
        f"/organizations/{org.id}/brand",
        json={"brandColor": "#000000"},
        headers=bearer(org.sk_test),
    )
    assert_error(response, 403, "LIVE_KEY_REQUIRED", param="brandColor")
    refused = await upload(client, org, "logo", picture(), key=org.sk_test)
    assert_error(refused, 403, "LIVE_KEY_REQUIRED", param="logoUrl")
    assert (await brand(client, org))["brandColor"] is None


async def test_bad_values_are_refused_naming_the_field_and_change_nothing(
    client: httpx.AsyncClient, org: Org
) -> None:
    await patch(client, org, {"brandColor": "#336699", "shareMessages": {"en": "Code {code}"}})
    before = await brand(client, org)
    cases = [
        ({"brandColor": "red"}, "brandColor"),
        ({"brandColor": "#12345"}, "brandColor"),
        ({"logoUrl": "http://cdn.shop.example/logo.png"}, "logoUrl"),
        ({"socialImageUrl": "javascript:alert(1)"}, "socialImageUrl"),
        ({"websiteUrl": "ftp://shop.example"}, "websiteUrl"),
        ({"displayName": ""}, "displayName"),
        ({"displayName": "Two\nlines"}, "displayName"),
        ({"shareMessages": {"en": "Use {coupon} at {shop}"}}, "shareMessages.en"),
        ({"shareMessages": {"en": "No code at all, {shop}"}}, "shareMessages.en"),
        ({"shareMessages": {"en": "Broken {code"}}, "shareMessages.en"),
        ({"shareMessages": {"en": "x" * 501 + "{code}"}}, "shareMessages.en"),
        ({"shareMessages": {"pt": "Código {code}"}}, "shareMessages"),
        ({"shareMessages": "Use {code}"}, "shareMessages"),
    ]
    for body, param in cases:
        response = await patch(client, org, {"displayName": "Changed", **body})
        assert_error(response, 400, "VALIDATION_ERROR", param=param)
    assert await brand(client, org) == before


async def test_an_uploaded_logo_is_served_as_sent_to_anyone(
    client: httpx.AsyncClient, org: Org
) -> None:
    data = picture(120, 40)
    response = await upload(client, org, "logo", data)
    assert response.status_code == 200, response.text
    url = response.json()["logoUrl"]
    assert url.startswith("http://127.0.0.1:8000/brand-assets/img_"), url
    served = await client.get(url.removeprefix("http://127.0.0.1:8000"))
    assert served.status_code == 200
    assert served.content == data
    assert served.headers["content-type"] == "image/png"
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert served.headers["x-content-type-options"] == "nosniff"
    social = await upload(client, org, "social-image", picture(1200, 630, fmt="JPEG"), "image/jpeg")
    assert social.json()["socialImageUrl"].startswith("http://127.0.0.1:8000/brand-assets/img_")
    # A URL given afterwards replaces the upload.
    replaced = await patch(client, org, {"logoUrl": "https://cdn.shop.example/new.png"})
    assert replaced.json()["logoUrl"] == "https://cdn.shop.example/new.png"
    missing = await client.get("/brand-assets/img_00000000000000")
    assert missing.status_code == 404


async def test_uploads_that_are_not_a_picture_within_limits_are_refused(
    client: httpx.AsyncClient, org: Org
) -> None:
    png = picture()
    cases = [
        (picture(400, 400, noise=True), "image/png", 400, "IMAGE_TOO_LARGE"),
        (png, "image/jpeg", 400, "INVALID_IMAGE"),
        (png[: len(png) // 2], "image/png", 400, "INVALID_IMAGE"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png", 400, "INVALID_IMAGE"),
        (picture(8, 8), "image/png", 400, "INVALID_IMAGE"),
        (picture(3000, 20), "image/png", 400, "INVALID_IMAGE"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"/>',
            "image/svg+xml",
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (b"hello", "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"),
        (b"", "image/png", 400, "VALIDATION_ERROR"),
    ]
    for data, content_type, status, code in cases:
        assert_error(await upload(client, org, "logo", data, content_type), status, code)
    small = picture(100, 100, fmt="WEBP")
    assert_error(
        await upload(client, org, "social-image", small, "image/webp"), 400, "INVALID_IMAGE"
    )
    huge = picture(900, 900, noise=True)
    assert len(huge) > 1_048_576
    too_big = await upload(client, org, "social-image", huge)
    assert too_big.status_code == 413
    assert (await brand(client, org))["logoUrl"] is None
    assert (await brand(client, org))["socialImageUrl"] is None


async def test_another_organizations_brand_is_not_found(
    client: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    response = await client.get(f"/organizations/{other_org.id}/brand", headers=bearer(org.sk_test))
    assert_error(response, 404, "NOT_FOUND", param="id")
    refused = await client.put(
        f"/organizations/{other_org.id}/brand/logo",
        content=picture(),
        headers={**bearer(org.sk_live), "Content-Type": "image/png"},
    )
    assert_error(refused, 404, "NOT_FOUND", param="id")


async def test_brand_changes_are_in_the_audit_log(client: httpx.AsyncClient, db: Any) -> None:
    org = await make_organization(db)
    await patch(client, org, {"brandColor": "#0055AA", "displayName": "Ana"})
    await upload(client, org, "logo", picture())
    listed = await client.get("/audit-log", headers=bearer(org.sk_live))
    entries = [e for e in listed.json()["data"] if e["action"] == "brand.updated"]
    assert len(entries) == 2, listed.json()
    upload_entry, patch_entry = entries
    assert patch_entry["changes"] == {
        "brandColor": {"from": None, "to": "#0055AA"},
        "displayName": {"from": None, "to": "Ana"},
    }
    assert set(upload_entry["changes"]) == {"logoUrl"}
    assert upload_entry["changes"]["logoUrl"]["to"].startswith(
        "http://127.0.0.1:8000/brand-assets/"
    )
