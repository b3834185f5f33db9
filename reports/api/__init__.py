"""The reports part of the REST API."""
