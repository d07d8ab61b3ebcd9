"""Maintenance incidents: SLA clocks, escalation, suppression, notifications, audit.

The collector's entry point is ``collector.incidents.manager.IncidentService``;
see that module's docstring for the three calls it makes.
"""
