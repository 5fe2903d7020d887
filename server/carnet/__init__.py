"""Carnet: live collaborative notebooks for gatherings."""
