"""The Dask engine: EM over data beyond one machine's memory (README, "Data beyond one machine").

The core's pass (core.block_pass) runs per block of rows on a Dask cluster's workers and its sums
are added up a fixed tree; the M-steps and the fit around them are core.em's. Imports core and io,
and Dask only when used; nothing imports it but the command line.
"""
