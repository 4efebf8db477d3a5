"""The JumpCloud HTTP client: transport (auth, retries), and one module per API."""
