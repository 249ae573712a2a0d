"""Exit codes of the `mattebench` command line: what scripts can rely on.

``run`` follows the full contract below; every other command uses 0, 1 (the work ran and found a
problem), 2 (usage), 70, 74 and 130 with the same meanings. The codes 70 and 74 are the
``EX_SOFTWARE`` and ``EX_IOERR`` of BSD sysexits.h.
"""

from __future__ import annotations

OK = 0  # run: every requested sample has an ok row
FAILED = 1  # run: stopped by --fail-fast; other commands: the work ran and found a problem
USAGE = 2  # unknown names, unknown or badly typed options, bad --limit/--out/--tag, folder held by another run
INCOMPLETE = 3  # run: finished, but some samples failed or are still pending
METHOD_EXITED = 4  # the method's code ended its process or changed the working directory while being built
INTERNAL = 70  # a bug (in mattebench or a plug-in): one line, and `--debug` shows the traceback
IO_ERROR = 74  # the run folder could not be written while samples ran (disk full, permission)
INTERRUPTED = 130  # SIGINT (Ctrl-C): everything written so far is kept

RUN_CONTRACT = (
    "Exit codes: 0 every requested sample scored; 3 finished but some samples failed or are pending "
    "(counts are printed); 1 stopped by --fail-fast; 4 the method's code ended its process (sys.exit, os._exit, "
    "a signal) or changed the working directory while it was being built: nothing was scored; 2 usage error found before any sample ran (unknown "
    "method/dataset, unknown or badly typed -m/-d option, --limit below 1, unusable --out or --tag, run "
    "folder held by another run, empty dataset); 74 the run folder could not be written mid-run (disk full, "
    "permission: rows already written are kept, rerun to resume); 130 interrupted; 70 internal error "
    "(run again with --debug for the traceback)."
)
