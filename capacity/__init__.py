"""Capacity: power flow, loading flags, open capacity, connection evaluation, exports."""
