from kohort.errors import AppError, NotFoundError


class PaymentIntentNotFoundError(NotFoundError):
    pass


class AmountMismatchError(AppError):
    status = 400
    code = "AMOUNT_MISMATCH"
