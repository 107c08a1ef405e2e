"""API keys for front-end apps (the mini program, the web app, partners).

Only a SHA-256 of the key is stored: keys are 32 random bytes, so a fast hash
is enough (there is nothing to brute-force), and a leaked table cannot be
used to call the API. ``prefix`` is the public part that finds the row.
"""

from django.db import models


class ApiKey(models.Model):
    name = models.CharField("name", max_length=100, help_text="Who uses it, e.g. 皖自学小程序.")
    prefix = models.CharField(max_length=12, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    rate_per_minute = models.PositiveIntegerField(
        "requests per minute", default=600, help_text="Over this the API answers 429."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API key"
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
