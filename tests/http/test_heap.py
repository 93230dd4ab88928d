"""A serving process settles its heap at start: what is alive once the app is built leaves the
garbage collector's reach (`gc.freeze`), so that full collections visit only what requests
leave behind (bench/dashboard.py: they took 170 ms each on the whole heap), and young
collections run less often."""

import gc

from kohort.config import Settings
from kohort.db import Database
from kohort.main import YOUNG_COLLECTION_THRESHOLD, create_app


async def test_starting_the_app_freezes_the_objects_it_lives_with(
    settings: Settings, db: Database
) -> None:
    app = create_app(settings.model_copy(update={"worker": "off"}), database=db)
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    thresholds = gc.get_threshold()
    try:
        async with app.router.lifespan_context(app):
            frozen = gc.get_freeze_count()
            # The app, its routes and every module imported: far more than a few objects.
            assert frozen > 50_000, frozen
            assert len(gc.get_objects()) < frozen
            assert gc.get_threshold()[0] == YOUNG_COLLECTION_THRESHOLD
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
