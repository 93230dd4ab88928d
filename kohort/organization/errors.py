from kohort.errors import NotFoundError


class OrganizationNotFoundError(NotFoundError):
    pass
