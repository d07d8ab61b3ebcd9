"""The simulated fleet behind ``make demo`` and the integration tests (see ``fleet``)."""
