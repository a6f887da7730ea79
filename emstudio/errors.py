"""The program's own error types: each carries one line a person can act on."""


class EmstudioError(Exception):
    """Base of every error emstudio reports as one clear line (no traceback)."""


class DataError(EmstudioError):
    """The data cannot be read or cannot be fitted (bad file, no numeric column, too few rows...)."""


class ParameterError(EmstudioError):
    """Mixture parameters are invalid (not positive-definite, weights off the simplex, wrong shape)."""


class FitError(EmstudioError):
    """A fit request is impossible (K larger than the data allows, unknown option...)."""


class WorkspaceError(EmstudioError):
    """A workspace file cannot be read (not one, damaged, truncated, from a newer version) or its
    data cannot be found as it was."""
