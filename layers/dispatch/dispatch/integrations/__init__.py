"""What the API talks to: the Vonage Messages API, signed webhooks, and callbacks to customers."""
