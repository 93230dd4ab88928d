"""The shapes the API promises (API.md §1.1, §1.3), shared by the tests that check them."""

import re
from typing import Any

import httpx

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
REQUEST_ID = re.compile(r"^req_[0-9a-f]{24}$")

CUSTOMER_FIELDS = frozenset(
    {
        "id",
        "livemode",
        "organizationId",
        "emailAddress",
        "firstName",
        "lastName",
        "phoneNumber",
        "locale",
        "isBlocked",
        "blockedAt",
        "blockedBy",
        "clientReferenceId",
        "metadata",
        "deletedAt",
        "createdAt",
        "createdBy",
        "updatedAt",
        "updatedBy",
    }
)
API_KEY_FIELDS = frozenset(
    {
        "id",
        "name",
        "type",
        "livemode",
        "preview",
        "createdAt",
        "lastUsedAt",
        "expiresAt",
        "revokedAt",
        "apiVersion",
    }
)
"""An API key as listed; the answer that issues one adds the secret `key`."""
ORGANIZATION_FIELDS = frozenset(
    {
        "id",
        "name",
        "slug",
        "websiteUrl",
        "timezone",
        "apiVersion",
        "codePrefix",
        "acquisitionFeePercent",
        "fromEmailName",
        "payoutMethod",
        "stripeSecretKeySet",
        "stripeSecretKeyHint",
        "payoutDebtorName",
        "payoutDebtorIbanMasked",
        "payoutDebtorBic",
        "createdAt",
        "updatedAt",
    }
)

GROUP_FIELDS = frozenset(
    {
        "id",
        "shareId",
        "livemode",
        "organizationId",
        "customerId",
        "creatorEmail",
        "status",
        "metadata",
        "expiresAt",
        "midExpireAt",
        "jMinus2ExpireAt",
        "jPlus3StartAt",
        "reminderEmailSent",
        "createdAt",
        "createdBy",
        "updatedAt",
        "updatedBy",
        "canceledAt",
        "completedAt",
        "participantsCount",
    }
)
"""The seed's Group object, field for field, plus `participantsCount` (API.md §2.1)."""
PUBLIC_GROUP_FIELDS = frozenset(
    {
        "id",
        "shareId",
        "livemode",
        "organizationId",
        "status",
        "participantsCount",
        "maxParticipants",
        "expiresAt",
        "midExpireAt",
        "jMinus2ExpireAt",
        "jPlus3StartAt",
        "createdAt",
        "canceledAt",
        "completedAt",
        "paymentGroupSettings",
    }
)
"""What a publishable key sees of a group: no e-mails, no customer ids (API.md §1.2)."""
VALIDATION_EXTRAS = frozenset(
    {
        "paymentGroupId",
        "discountType",
        "discountLevels",
        "maxParticipants",
        "minutesDuration",
        "minPurchaseValue",
        "currentDiscountLevel",
        "nextDiscountLevel",
    }
)
"""What a code's validation adds to the Group object (API.md §2.1 validate)."""
ORDER_FIELDS = frozenset(
    {
        "id",
        "livemode",
        "organizationId",
        "amount",
        "amountCashback",
        "applicationFeeAmount",
        "currency",
        "locale",
        "status",
        "paymentReference",
        "canceledAt",
        "customerId",
        "customerEmail",
        "customerFirstName",
        "customerLastName",
        "customerPhoneNumber",
        "paymentGroupId",
        "paymentGroupShareId",
        "clientReferenceId",
        "riskLevel",
        "riskReasons",
        "customerIp",
        "deviceFingerprint",
        "paymentFingerprint",
        "reviewStatus",
        "reviewDueAt",
        "reviewedAt",
        "reviewedBy",
        "joinError",
        "metadata",
        "createdAt",
        "createdBy",
        "updatedAt",
        "updatedBy",
        "amountRefunded",
        "ambassadorId",
    }
)
EVENT_FIELDS = frozenset({"id", "type", "livemode", "organizationId", "createdAt", "data"})

ERROR_KEYS = {"type", "code", "message", "param", "requestId"}
ERROR_TYPES = {
    **dict.fromkeys((400, 404, 405, 408, 409, 413, 415, 431), "invalid_request_error"),
    401: "authentication_error",
    403: "permission_error",
    429: "rate_limit_error",
}
IDEMPOTENCY_CODES = {"IDEMPOTENCY_KEY_REUSED", "IDEMPOTENCY_REQUEST_IN_PROGRESS"}


def error_type(status: int, code: str) -> str:
    """The `type` API.md §1.3 gives a status; the idempotency conflicts have their own (§1.6)."""
    if code in IDEMPOTENCY_CODES:
        assert status == 409, (status, code)
        return "idempotency_error"
    return ERROR_TYPES[status]


def assert_error(
    response: httpx.Response, status: int, code: str, *, param: object = ..., snake: bool = False
) -> dict[str, Any]:
    """The error envelope of API.md §1.3 with `code` (and `param`, when given); returns it.
    `snake`: in the `kohortpay` API version, whose keys are snake_case (`request_id`).

    Checks the status, that the body is JSON holding only `error`, the envelope's exact keys,
    `code`, the `type` for the status, a non-empty message, `requestId` equal to the Request-Id
    header and well formed, and on a 401 the `WWW-Authenticate: Bearer` challenge.
    """
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["error"], body
    error: dict[str, Any] = body["error"]
    request_id_key = "request_id" if snake else "requestId"
    assert set(error) == ERROR_KEYS - {"requestId"} | {request_id_key}, error
    assert error["code"] == code, error
    assert error["type"] == error_type(status, code), error
    assert isinstance(error["message"], str), error
    assert error["message"], error
    if param is not ...:
        assert error["param"] == param, error
    assert error[request_id_key] == response.headers["Request-Id"]
    assert REQUEST_ID.match(error[request_id_key]), error[request_id_key]
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    return error
