"""The enterprises part of the REST API."""
