from kohort.errors import AppError, NotFoundError


class CheckoutSessionNotFoundError(NotFoundError):
    pass


class CheckoutSessionNotOpenError(AppError):
    status = 400
    code = "CHECKOUT_SESSION_NOT_OPEN"
