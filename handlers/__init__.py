"""Lambda entry points. Each handler parses its event, calls one domain function and returns a dict."""
