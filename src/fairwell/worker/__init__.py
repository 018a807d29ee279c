"""Workers: the embedded DB-polling worker, and later the Celery app, over one service."""
