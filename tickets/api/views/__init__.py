"""The REST API's views, one module per resource."""
