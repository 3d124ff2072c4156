"""Local stand-ins for the cloud services the Workflows API uses (moto, sandbox Messages API)."""
