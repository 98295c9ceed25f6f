"""A Flower App: an honest digits client and a malicious server."""
