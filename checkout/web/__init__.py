"""Blueprints, one per audience or feature; each module defines `bp`."""
