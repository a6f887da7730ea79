"""The bundle's entry point (packaging/emstudio.spec): the `emstudio` command.

freeze_support first: `emstudio select --jobs N` starts its workers with the spawn method, which
in a frozen program re-runs this executable; freeze_support makes such a run a worker."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from emstudio.cli import main

    sys.exit(main())
