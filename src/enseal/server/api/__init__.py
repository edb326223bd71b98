"""The HTTP and WebSocket endpoints of API v1, one router per area."""
