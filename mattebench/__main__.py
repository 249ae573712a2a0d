import sys

from mattebench.commands.cli import main

sys.exit(main())
