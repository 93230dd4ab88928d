from kohort.errors import AppError, NotFoundError


class CustomerNotFoundError(NotFoundError):
    pass


class CustomerExistsError(AppError):
    status = 409
    code = "CUSTOMER_EXISTS"
