from kohort.errors import AppError, ConflictError, NotFoundError, ValidationError


class PermissionDeniedError(AppError):
    """The user's role does not allow this (viewer: read only; payouts and team: owner)."""

    status = 403
    code = "PERMISSION_DENIED"


class MemberNotFoundError(NotFoundError):
    pass


class InvitationNotFoundError(NotFoundError):
    pass


class LastOwnerError(ConflictError):
    """The organization's last owner can be neither removed nor demoted."""

    code = "LAST_OWNER"


class AlreadyMemberError(ConflictError):
    code = "ALREADY_MEMBER"


class InvalidLinkError(AppError):
    """An invitation or reset link unknown, used, revoked or expired (one answer for all)."""

    status = 410
    code = "LINK_INVALID"


class WeakPasswordError(ValidationError):
    code = "WEAK_PASSWORD"


class InvalidEmailError(ValidationError):
    code = "INVALID_EMAIL"


class InvalidRoleError(ValidationError):
    code = "INVALID_ROLE"


class WrongPasswordError(ValidationError):
    code = "WRONG_PASSWORD"


class WrongCodeError(ValidationError):
    code = "WRONG_CODE"
