from kohort.errors import AppError


class InvalidImageError(AppError):
    """An upload that is not a PNG, JPEG or WebP picture within the limits of its kind."""

    status = 400
    code = "INVALID_IMAGE"


class ImageTooLargeError(AppError):
    status = 400
    code = "IMAGE_TOO_LARGE"


class UnsupportedImageTypeError(AppError):
    status = 415
    code = "UNSUPPORTED_MEDIA_TYPE"
