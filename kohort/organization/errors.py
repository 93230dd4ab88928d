from kohort.errors import AppError, NotFoundError


class OrganizationNotFoundError(NotFoundError):
    pass


class LiveKeyRequiredError(AppError):
    """A test key tried to change what live mode uses (API.md §1.2: nothing crosses modes)."""

    status = 403
    code = "LIVE_KEY_REQUIRED"
