"""One router per concern; ``cms/api/app.py`` mounts them."""
