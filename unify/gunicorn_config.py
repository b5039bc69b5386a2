"""gunicorn settings of the production image (``gunicorn -c python:unify.gunicorn_config``).

Command-line flags still win, so tests and operators can bind elsewhere or log to files.
"""

bind = "0.0.0.0:8000"
workers = 3
timeout = 60
accesslog = "-"
