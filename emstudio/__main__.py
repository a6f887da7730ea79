import sys

from emstudio.cli import main

sys.exit(main())
