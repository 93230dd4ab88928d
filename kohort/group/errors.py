from kohort.errors import AppError, NotFoundError
from kohort.risk.service import Assessment


class GroupNotFoundError(NotFoundError):
    pass


class GroupEndedError(AppError):
    status = 400
    code = "COMPLETED_EXPIRED_CANCELED"


class GroupFullError(AppError):
    status = 400
    code = "MAX_PARTICIPANTS_REACHED"


class EmailAlreadyUsedError(AppError):
    status = 400
    code = "EMAIL_ALREADY_USED"


class AmountTooLowError(AppError):
    status = 400
    code = "AMOUNT_TOO_LOW"


class CustomerBlockedError(AppError):
    status = 400
    code = "CUSTOMER_BLOCKED"


class GroupHasParticipantsError(AppError):
    status = 400
    code = "GROUP_HAS_PARTICIPANTS"


class OrderAlreadyInGroupError(AppError):
    status = 400
    code = "ORDER_ALREADY_IN_GROUP"


class OrderNotFoundError(NotFoundError):
    """A member order (orders are the group's members; kohort.order re-exports this)."""


class OrderAlreadyCanceledError(AppError):
    status = 400
    code = "ORDER_ALREADY_CANCELED"


class RiskRefusedError(AppError):
    """The policy refuses orders of this risk level to join: the order opens its own group."""

    status = 400
    code = "RISK_REFUSED"

    def __init__(self, message: str, *, assessment: Assessment) -> None:
        super().__init__(message, param="paymentGroupShareId")
        self.assessment = assessment


class BudgetExhaustedError(AppError):
    """The month's cashback budget is used up: no new group opens."""

    status = 400
    code = "BUDGET_EXHAUSTED"
