from kohort.errors import NotFoundError


class PaymentGroupSettingsNotFoundError(NotFoundError):
    pass
