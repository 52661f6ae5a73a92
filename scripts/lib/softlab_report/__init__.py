"""The report scripts' modules (scripts/lib/softlab_report): see each module's docstring."""
