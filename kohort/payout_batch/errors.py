from kohort.errors import AppError, NotFoundError


class PayoutBatchNotFoundError(NotFoundError):
    pass


class PayoutBatchAlreadyConfirmedError(AppError):
    status = 400
    code = "PAYOUT_BATCH_ALREADY_CONFIRMED"
