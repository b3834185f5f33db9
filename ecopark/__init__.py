"""ecopark: resource flows and savings in eco-industrial parks."""

from .celery import app as celery_app

__all__ = ("celery_app",)
