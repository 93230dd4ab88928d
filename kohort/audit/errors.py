from kohort.errors import NotFoundError


class AuditEntryNotFoundError(NotFoundError):
    pass
