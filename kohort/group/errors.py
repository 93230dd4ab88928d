from kohort.errors import AppError, NotFoundError


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
