"""gunicorn settings of the production image (``gunicorn -c python:unify.gunicorn_config``).

Command-line flags still win, so tests and operators can bind elsewhere or log to files.
"""

bind = "0.0.0.0:8000"
workers = 3
timeout = 60
accesslog = "-"
# Access and error log lines go through the same redaction as Django's logs: webhook tokens,
# password-reset, email-confirmation and invitation keys and OAuth code/state never appear.
logger_class = "unify.core.gunicorn_logging.RedactingLogger"
