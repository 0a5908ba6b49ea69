"""Climate: landed_climate -> stations -> climate, and their checks."""
