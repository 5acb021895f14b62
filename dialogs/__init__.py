"""The coaching engine: flows as data, one shared state machine per flow, and the scorer."""
