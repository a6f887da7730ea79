"""The architecture's promises: core and io never import Qt; the command starts without heavy imports."""

import subprocess
import sys


def _modules_after(statement):
    code = f"import sys\n{statement}\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return set(out.stdout.split())


def test_core_and_io_import_no_qt():
    modules = _modules_after("import emstudio.core, emstudio.io.results, emstudio.io.atomic, emstudio.io.data, "
                             "emstudio.io.workspace, emstudio.io.workspace_values")
    assert not {m for m in modules if m.split(".")[0] in ("PySide6", "pyqtgraph", "shiboken6")}


def test_cli_import_is_light():
    modules = _modules_after("import emstudio.cli")
    assert "numpy" not in modules and "emstudio.core" not in modules
    assert not {m for m in modules if m.split(".")[0] in ("PySide6", "pyqtgraph", "sklearn", "scipy")}


def test_core_never_imports_sklearn_or_scipy():
    modules = _modules_after("import emstudio.core")
    assert not {m for m in modules if m.split(".")[0] in ("sklearn", "scipy")}


def test_dask_is_imported_only_by_the_dask_engine():
    modules = _modules_after("import emstudio.core, emstudio.io.data, emstudio.io.results, emstudio.cli, "
                             "emstudio.distributed.engine, emstudio.distributed.fit")
    # the Dask engine's own modules import Dask only when a cluster is opened
    assert not {m for m in modules if m.split(".")[0] in ("dask", "distributed")}
