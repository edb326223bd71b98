"""Call and meeting signalling: sans-I/O state machines and messages shared by server and client."""
