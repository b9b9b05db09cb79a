"""The ``vecload`` command: a thin shell over the library. Each command parses options, calls one
library function and reports.

Every command ends with one of these exit statuses (tested in ``tests/test_cli_conventions.py``):

====  =====================================================================================================
0     done (also when whoever reads stdout stops early: ``vecload info x.pth | head -1``)
1     bad data or a file problem: a malformed or missing input, an existing output, rows that changed
2     bad usage: an unknown option, a value out of range, options that contradict each other
130   interrupted with Ctrl-C
====  =====================================================================================================

Library errors name their fixes as options (:class:`vecload.errors.Option`); :data:`_CLI_TERMS` spells them
as this command's flags, so messages read ``pass --force`` here and ``pass force=True`` in Python.

The package: ``_shell`` (the group, error and output conventions), ``_options`` (the read options, with
their choices taken from the library), ``_report`` (parse reports and data problems as lines), ``_align``
(``convert --vocab``), and one module per command.
"""

from vecload.cli import check_frozen, convert, evaluate, export, info, neighbors  # noqa: F401  (each module registers its command)
from vecload.cli._shell import main, run

__all__ = ["main", "run"]
