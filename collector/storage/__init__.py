"""Time-series and inventory storage. ``base.Storage`` is the interface; SQLite is the embedded default."""
