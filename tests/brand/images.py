"""Pictures for the brand tests, made with Pillow in memory."""

import io
import random

from PIL import Image


def picture(
    width: int = 64, height: int = 64, *, fmt: str = "PNG", noise: bool = False, seed: int = 1
) -> bytes:
    """A `fmt` image; `noise`: random pixels, which no format compresses (a big file)."""
    if noise:
        rng = random.Random(seed)
        image = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    else:
        image = Image.new("RGB", (width, height), (31, 95, 58))
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()
