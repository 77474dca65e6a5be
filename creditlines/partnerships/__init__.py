"""Partnerships: the distributor–vendor relation that lets a vendor fund lines at a distributor."""
