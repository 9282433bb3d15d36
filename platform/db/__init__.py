"""The project's database backend: django-tenants' PostgreSQL backend with cheaper introspection."""
