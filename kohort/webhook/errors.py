from kohort.errors import AppError, NotFoundError


class WebhookEndpointNotFoundError(NotFoundError):
    pass


class WebhookDeliveryNotFoundError(NotFoundError):
    pass


class WebhookUrlNotAllowedError(AppError):
    """A destination the rules refuse: not https, or not a public address (destinations.py)."""

    status = 400
    code = "WEBHOOK_URL_NOT_ALLOWED"


class WebhookEndpointDisabledError(AppError):
    status = 400
    code = "WEBHOOK_ENDPOINT_DISABLED"
