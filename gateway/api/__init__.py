"""The ``/api/v1`` JSON API: one blueprint per resource, typed request/response models."""
