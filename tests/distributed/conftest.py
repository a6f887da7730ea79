"""The Dask engine's tests share one local cluster of 2 worker processes: tests/conftest.py's
package-scoped ``dask_client`` (started for this package, closed when its tests end)."""
