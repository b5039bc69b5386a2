"""gunicorn settings of the production image (``gunicorn -c python:unify.gunicorn_config``).

Command-line flags still win, so tests and operators can bind elsewhere or log to files.
"""

import os

bind = "0.0.0.0:8000"
workers = 3
timeout = 60
accesslog = "-"
# Access and error log lines go through the same redaction as Django's logs: webhook tokens,
# password-reset, email-confirmation and invitation keys and OAuth code/state never appear.
logger_class = "unify.core.gunicorn_logging.RedactingLogger"
# Only the reverse proxy may say the request came over HTTPS (Django drops X-Forwarded-*
# from other peers too: unify.core.middleware).
forwarded_allow_ips = os.environ.get("TRUSTED_PROXY_IPS", "127.0.0.1,::1")
