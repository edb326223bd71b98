"""The ``enseal`` command line (layer L6): formatting and wiring only."""
