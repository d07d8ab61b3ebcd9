"""Spare-parts stock: what is on the shelf, what the fleet will need, what to order when."""
