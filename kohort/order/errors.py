from kohort.errors import AppError, NotFoundError


class OrderNotFoundError(NotFoundError):
    pass


class ClientReferenceIdExistsError(AppError):
    status = 409
    code = "CLIENT_REFERENCE_ID_EXISTS"
