from typing import Annotated

from pydantic import Field, model_validator

from kohort.http.schemas import JSONInt, RequestModel, TimestampIn

MAX_ADVANCE_SECONDS = 200 * 24 * 3600


class GroupAdvance(RequestModel):
    """How far to move a test group's clock: `seconds`, or `to` a moment (exactly one)."""

    seconds: Annotated[JSONInt, Field(ge=1, le=MAX_ADVANCE_SECONDS)] | None = None
    to: TimestampIn | None = None

    @model_validator(mode="after")
    def _one_of(self) -> "GroupAdvance":
        if (self.seconds is None) == (self.to is None):
            raise ValueError("give exactly one of seconds or to")
        return self
