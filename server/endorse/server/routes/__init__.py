"""Route modules: thin handlers that parse, call the registry's services, and answer."""
