"""The JSON API: one controller module per resource."""
