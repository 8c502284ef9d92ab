"""``python -m copyloop``: the same as the ``copyloop`` command."""

from copyloop.cli import main

main()
