"""One local Dask cluster of 2 worker processes for these tests: starting one costs seconds. Closed
when they end (package scope), so that its IO-loop thread is not running under the window's tests."""

import pytest


@pytest.fixture(scope="package")
def dask_client():
    pytest.importorskip("distributed")
    from emstudio.distributed.cluster import open_client

    with open_client(workers=2) as client:
        yield client
