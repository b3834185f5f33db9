"""The parks part of the REST API."""
