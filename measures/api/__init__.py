"""The measures part of the REST API."""
