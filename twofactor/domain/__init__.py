"""The domain: authentication and second-factor flows. Never imports the web framework."""
