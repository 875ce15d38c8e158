"""Operational lab failures (not bad input): the CLI prints them and exits 1."""


class LabError(RuntimeError):
    """Something on the machine stopped the lab from coming up or going down."""
