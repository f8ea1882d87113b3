"""The benchmark of issues 4 and 15: the pipeline against pandas scripts and the zip floor.

``python -m bench`` (or ``make bench``) makes a corpus of N filled returns with the
project's own filler, times each command as a whole process several times, and prints
and saves one table. See the README's Benchmark section.
"""
