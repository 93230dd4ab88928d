"""What stops a dashboard request before its page: each answered as a page (or a redirect to
sign-in) by `endpoints.page_error`, never as the API's JSON envelope."""


class PageError(Exception):
    status = 400
    reason = "error"

    def __init__(self, locale: str | None = None) -> None:
        super().__init__(self.reason)
        self.locale = locale


class SignInRequired(PageError):
    """No live session: to the sign-in page (then back to `next`)."""

    status = 303
    reason = "sign_in"

    def __init__(self, next_path: str | None = None) -> None:
        super().__init__()
        self.next_path = next_path


class PageNotFound(PageError):
    """Unknown, or another organization's: the same answer for both."""

    status = 404
    reason = "not_found"


class Forbidden(PageError):
    """The role does not allow it."""

    status = 403
    reason = "forbidden"


class CSRFRefused(PageError):
    """A form without this session's CSRF token, or an unsafe request from another origin."""

    status = 403
    reason = "csrf"
