"""`--prior conjugate` on the command line: fit and select, and the models refused in one line."""

import json

from tests.cli.test_fit_command import emstudio


def test_fit_under_the_prior_writes_it_and_prints_the_log_posterior(tmp_path):
    out = tmp_path / "r.json"
    code, stdout, stderr = emstudio("fit", "emstudio/samples/iris.csv", "--columns", "0,1,2,3", "--k", "3", "--covariance",
                                    "VVV", "--prior", "conjugate", "--out", out)
    assert code == 0, stderr
    result = json.loads(out.read_text())
    assert result["settings"]["prior"] == "conjugate" and isinstance(result["log_prior"], float)
    assert "log posterior" in stdout
    # the result is a start like any other
    again = tmp_path / "again.json"
    assert emstudio("fit", "emstudio/samples/iris.csv", "--columns", "0,1,2,3", "--init", out, "--prior", "conjugate",
                    "--out", again)[0] == 0


def test_a_model_without_the_prior_is_one_line(tmp_path):
    code, _, stderr = emstudio("fit", "emstudio/samples/four_d.csv", "--k", "2", "--covariance", "VEV", "--prior", "conjugate",
                               "-q")
    errors = [line for line in stderr.splitlines() if "error" in line]
    assert code == 1 and len(errors) == 1 and "Traceback" not in stderr
    assert "not available for the VEV model" in stderr
    code, _, stderr = emstudio("select", "emstudio/samples/four_d.csv", "--k", "1-2", "--covariance", "all", "--prior",
                               "conjugate")
    assert code == 1 and "not available for the VEI model" in stderr and "Traceback" not in stderr
