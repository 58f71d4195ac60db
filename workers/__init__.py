"""Queued work: the Celery app, its tasks, and the in-process executor used without a broker.

Tasks are thin: each calls one plain function in ``workers.processing`` or
``workers.chat``, so a Celery worker and the in-process executor run the same code.
"""
