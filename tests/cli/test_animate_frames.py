"""Which iterations become frames of an animation, and for how long (pure; no display)."""

import numpy as np
import pytest

from emstudio.animate import check_animation_path, frame_durations, frame_indices
from emstudio.errors import EmstudioError


def test_every_state_when_they_fit():
    np.testing.assert_array_equal(frame_indices(10, 60), np.arange(10))
    assert frame_indices(0, 60).size == 0


@pytest.mark.parametrize("n, most", [(61, 60), (500, 60), (10_000, 40), (100, 2)])
def test_long_runs_are_sampled_keeping_the_start_the_early_steps_and_the_end(n, most):
    picked = frame_indices(n, most)
    assert len(picked) == most
    assert picked[0] == 0 and picked[-1] == n - 1
    assert np.all(np.diff(picked) > 0)
    if most >= 20:
        np.testing.assert_array_equal(picked[:5], np.arange(5))  # EM moves most at first: all shown
        gaps = np.diff(picked)
        assert gaps[-1] >= gaps[0]  # sparser towards the end


def test_durations_hold_the_last_frame():
    assert frame_durations(3, 4.0) == [250, 250, 2000]
    assert frame_durations(1, 4.0) == [2000]
    assert frame_durations(0, 4.0) == []


def test_animation_suffixes():
    assert check_animation_path("run.gif") == ".gif"
    with pytest.raises(EmstudioError, match=".gif or .mp4"):
        check_animation_path("run.png")
