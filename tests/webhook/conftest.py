from collections.abc import Iterator

import pytest

from tests.webhook.receiver import Receiver, running_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as started:
        yield started
