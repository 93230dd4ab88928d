from kohort.errors import AppError, NotFoundError


class WebhookEndpointNotFoundError(NotFoundError):
    pass


class WebhookDeliveryNotFoundError(NotFoundError):
    pass


class WebhookUrlNotAllowedError(AppError):
    """A destination the mode refuses: not https in live mode, or not a public address."""

    status = 400
    code = "WEBHOOK_URL_NOT_ALLOWED"


class WebhookEndpointDisabledError(AppError):
    status = 400
    code = "WEBHOOK_ENDPOINT_DISABLED"
