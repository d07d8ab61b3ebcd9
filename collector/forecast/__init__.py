"""Predictive supplies: when does each cartridge run out (or a receptacle fill up)."""
