"""Request and response bodies, one module per resource (``common`` holds what they share).
Routers import each model from its resource's module."""
