"""``python -m weihai_gis``: the ``weihai-gis`` command line."""

from weihai_gis.cli import main

main(prog_name="weihai-gis")
