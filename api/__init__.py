"""The JSON API, ``/api/v1/`` (design §8): the one package that speaks HTTP and JSON for the services.

``main`` holds the NinjaAPI and the one path every call takes; ``envelope`` the error envelope and how an
operation documents its answers; ``keys`` and ``ratelimit`` admit a key; one module per resource turns the
services' domain results into JSON bodies and picks the status. Only the URLconf imports this package.
"""
