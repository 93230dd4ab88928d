from kohort.errors import AppError, NotFoundError


class WidgetOrderNotFoundError(NotFoundError):
    """An unknown order, a canceled one, or a token that does not sign it: one answer."""


class TooManyRequestsError(AppError):
    status = 429
    code = "RATE_LIMITED"
