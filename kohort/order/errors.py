from kohort.errors import AppError
from kohort.group.errors import OrderAlreadyCanceledError, OrderNotFoundError

__all__ = [
    "CashbackAlreadySentError",
    "ClientReferenceIdExistsError",
    "OrderAlreadyCanceledError",
    "OrderNotFoundError",
    "RefundExceedsAmountError",
    "ReviewNotPendingError",
]


class ClientReferenceIdExistsError(AppError):
    status = 409
    code = "CLIENT_REFERENCE_ID_EXISTS"


class CashbackAlreadySentError(AppError):
    status = 400
    code = "CASHBACK_ALREADY_SENT"


class RefundExceedsAmountError(AppError):
    status = 400
    code = "REFUND_EXCEEDS_AMOUNT"


class ReviewNotPendingError(AppError):
    status = 400
    code = "REVIEW_NOT_PENDING"
