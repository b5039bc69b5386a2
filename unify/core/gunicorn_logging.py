"""gunicorn's logger with secrets redacted (``logger_class`` in ``unify/gunicorn_config.py``).

The access log line is formatted from the request line, path, query string and Referer, so
it would carry webhook tokens, password-reset and invitation keys and OAuth codes; gunicorn's
own error log names request paths too. Both go through the same redaction as Django's logs.
"""

from __future__ import annotations

from gunicorn.glogging import Logger

from unify.core.logging import RedactSecretsFilter


class RedactingLogger(Logger):
    def setup(self, cfg) -> None:
        super().setup(cfg)
        redact = RedactSecretsFilter()
        for log in (self.access_log, self.error_log):
            if not any(isinstance(f, RedactSecretsFilter) for f in log.filters):
                log.addFilter(redact)
