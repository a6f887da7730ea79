"""One local Dask cluster of 2 worker processes for the whole session: starting one costs seconds."""

import pytest


@pytest.fixture(scope="session")
def dask_client():
    pytest.importorskip("distributed")
    from emstudio.distributed.cluster import open_client

    with open_client(workers=2) as client:
        yield client
