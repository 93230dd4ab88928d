"""What an uploaded brand image must be: PNG, JPEG or WebP, as its Content-Type says, within
its kind's size limits, decoded whole by Pillow before anything is stored. SVG is refused (it
may carry scripts); the bytes are kept as sent."""

import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from kohort.brand.errors import ImageTooLargeError, InvalidImageError, UnsupportedImageTypeError

TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    min_side: int
    max_side: int


LIMITS = {
    "logo": Limits(max_bytes=256 * 1024, min_side=16, max_side=2048),
    "social_image": Limits(max_bytes=768 * 1024, min_side=200, max_side=4096),
}
"""Both under the API's 1 MiB body limit, so that an oversized image gets this module's 400
rather than the 413 of a body too large."""


@dataclass(frozen=True)
class Checked:
    content_type: str
    width: int
    height: int


def check(kind: str, content_type: str | None, data: bytes) -> Checked:
    limits = LIMITS[kind]
    declared = (content_type or "").split(";")[0].strip().lower()
    if declared not in TYPES:
        raise UnsupportedImageTypeError(
            f"Send the image as image/png, image/jpeg or image/webp, not "
            f"'{declared or 'no Content-Type'}'.",
        )
    if len(data) > limits.max_bytes:
        raise ImageTooLargeError(
            f"The image is {len(data)} bytes; a {kind.replace('_', ' ')} may be at most "
            f"{limits.max_bytes} bytes ({limits.max_bytes // 1024} KiB)."
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            found, (width, height) = image.format, image.size
            if found != TYPES[declared]:
                raise InvalidImageError(
                    f"The file is {'a ' + found if found else 'not'} an image Kohort takes, "
                    f"sent as {declared}."
                )
            if not (
                limits.min_side <= min(width, height) and max(width, height) <= limits.max_side
            ):
                raise InvalidImageError(
                    f"The image is {width} x {height} pixels; each side must be "
                    f"{limits.min_side} to {limits.max_side}."
                )
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise InvalidImageError(f"The file is not a whole {TYPES[declared]} image.") from error
    return Checked(declared, width, height)
