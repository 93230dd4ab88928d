from kohort.errors import AppError, NotFoundError


class PayoutBatchNotFoundError(NotFoundError):
    pass


class PayoutBatchAlreadyConfirmedError(AppError):
    status = 400
    code = "PAYOUT_BATCH_ALREADY_CONFIRMED"


class NothingToBatchError(AppError):
    status = 400
    code = "NOTHING_TO_BATCH"


class PayoutDebtorAccountMissingError(AppError):
    status = 400
    code = "PAYOUT_DEBTOR_ACCOUNT_MISSING"
