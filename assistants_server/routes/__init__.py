"""HTTP routes of the Assistants v2 protocol, one module per resource."""
