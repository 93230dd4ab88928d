from kohort.errors import AppError, NotFoundError


class PayoutNotFoundError(NotFoundError):
    pass


class PayoutNotRetryableError(AppError):
    status = 400
    code = "PAYOUT_NOT_RETRYABLE"
