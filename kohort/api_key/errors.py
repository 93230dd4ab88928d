from kohort.errors import AppError, NotFoundError


class AuthenticationError(AppError):
    status = 401
    code = "AUTHENTICATION_FAILED"


class MissingApiKeyError(AuthenticationError):
    code = "API_KEY_MISSING"


class MalformedAuthorizationError(AuthenticationError):
    code = "INVALID_AUTHORIZATION_HEADER"


class InvalidApiKeyError(AuthenticationError):
    code = "INVALID_API_KEY"


class RevokedApiKeyError(AuthenticationError):
    code = "API_KEY_REVOKED"


class ExpiredApiKeyError(AuthenticationError):
    code = "API_KEY_EXPIRED"


class PublishableKeyNotAllowedError(AppError):
    status = 403
    code = "PUBLISHABLE_KEY_NOT_ALLOWED"


class ApiKeyNotFoundError(NotFoundError):
    pass


class LastSecretKeyError(AppError):
    status = 400
    code = "LAST_SECRET_KEY"


class ApiKeyAlreadyRolledError(AppError):
    status = 400
    code = "API_KEY_ALREADY_ROLLED"
