"""A CSV file cut into blocks on a Dask cluster in the window: the Data panel's report names the
columns left out for the whole file (text further on than the first block), as `fit` does."""

import os

import pytest

from tests.conftest import blobs

pytest.importorskip("distributed")

from emstudio.gui.cluster_data import ClusterRequest  # noqa: E402


def test_the_report_names_a_column_with_text_past_the_first_block(qtbot, window, dask_client, tmp_path):
    data = blobs([600, 600], [[0, 0, 0], [4, 4, 4]], [1.0, 1.0], seed=3)
    lines = [f"{a:.6f},{b:.6f},{'foo' if i == 1000 else f'{c:.6f}'}" for i, (a, b, c) in enumerate(data)]
    path = tmp_path / "text.csv"
    path.write_text("a,b,c\n" + "".join(line + "\n" for line in lines))
    request = ClusterRequest(str(path), scheduler=dask_client.scheduler.address, block_rows=200, sample_rows=500)
    with qtbot.waitSignal(window.cluster_link.opening_finished, timeout=60000) as blocker:
        assert window.cluster_link.open(request)
    assert blocker.args == [True], window.banner.label.text()
    report = window.controls.report.text()
    assert "left out, not numeric ('foo' on line 1002): c" in report
    assert "3 columns" not in report and "2 columns: a, b" in report
    if os.environ.get("EMSTUDIO_SCREENSHOT"):  # to look at (the layout settles first)
        qtbot.wait(200)
        window.grab().save(os.environ["EMSTUDIO_SCREENSHOT"])
