"""Runner for the official test vectors (``python -m enseal.vectors PATH...``).

Each vector file kind has a module here with ``NAME``, ``recognise(filename, data)``,
``cases(data)`` and ``run(case)``; :mod:`enseal.vectors.registry` lists them. The pytest vector
tests and the command line share this one implementation.
"""
