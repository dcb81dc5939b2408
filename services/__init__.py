"""The domain: models and use cases of case coordination, free of any web or broker framework."""
