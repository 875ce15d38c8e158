"""The estate catalogue: format idcpilot/v1, its typed model, loading and cross-checks."""

from idcpilot.catalogue.estate import Catalogue, Host
from idcpilot.catalogue.load import ESTATE_FILE, estate_file, load, load_partial

__all__ = ["Catalogue", "Host", "ESTATE_FILE", "estate_file", "load", "load_partial"]
