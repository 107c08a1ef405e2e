"""The headless content API v1 (django-ninja). Domain code never imports this package."""
