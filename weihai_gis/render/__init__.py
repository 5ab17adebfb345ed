"""What renderers (maps, report, tables) share: they take a ``CoverageResult`` and never compute coverage.

``classes``: the one classification of coverage rates (breaks, colours, gap threshold).
"""
