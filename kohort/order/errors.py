from kohort.errors import AppError, NotFoundError


class OrderNotFoundError(NotFoundError):
    pass


class ClientReferenceIdExistsError(AppError):
    status = 409
    code = "CLIENT_REFERENCE_ID_EXISTS"


class OrderAlreadyCanceledError(AppError):
    status = 400
    code = "ORDER_ALREADY_CANCELED"


class CashbackAlreadySentError(AppError):
    status = 400
    code = "CASHBACK_ALREADY_SENT"
