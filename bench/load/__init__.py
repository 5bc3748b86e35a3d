"""The morning-peak load scenario (locust) and the machinery the fault script shares: see __main__.py."""
