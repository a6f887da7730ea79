"""``emstudio samples``: where the sample data sets are, so that an installed copy (pip, pipx, the
bundle) can fit them: `emstudio fit "$(emstudio samples overlapping)" --k 3`."""

from __future__ import annotations

import argparse
import sys


def add_parser(commands) -> argparse.ArgumentParser:
    samples = commands.add_parser(
        "samples", help="list the sample data sets shipped with EM Studio (or print one's path)",
        description="List the sample data sets shipped with EM Studio, with their paths; with NAME, print only "
                    "that sample's path (for example: emstudio fit \"$(emstudio samples overlapping)\" --k 3).")
    samples.add_argument("name", metavar="NAME", nargs="?", help="a sample's name, e.g. overlapping or iris")
    return samples


def command_samples(args) -> int:
    from emstudio.errors import EmstudioError
    from emstudio.samples import ALL_SAMPLES, sample_path

    names = [filename.removesuffix(".csv") for filename, _, _ in ALL_SAMPLES]
    if args.name is not None:
        path = sample_path(args.name)
        if path is None:
            raise EmstudioError(f"no sample called {args.name!r} (the samples: {', '.join(names)})")
        print(path)
        return 0
    width = max(map(len, names))
    for name, (filename, _, tip) in zip(names, ALL_SAMPLES):
        path = sample_path(name)
        sys.stdout.write(f"{name:<{width}}  {path if path else '(missing from this install)'}\n"
                         f"{'':<{width}}  {tip}\n")
    return 0
