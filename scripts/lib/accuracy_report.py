#!/usr/bin/python3
"""Turns the accuracy study's files into a Markdown report with PNG plots (scripts/accuracy_report).

    scripts/accuracy_report [--data DIR] [--out DIR]

The work is in the package softlab_report (accuracy_page assembles the page). Standard library,
numpy and matplotlib (Agg) only: Debian's python3-numpy, python3-matplotlib.
"""

from softlab_report.accuracy_page import main

if __name__ == "__main__":
    main()
