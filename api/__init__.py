"""The HTTP API: thin routers over the creditlines library."""
