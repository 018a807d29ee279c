"""Transports that hand a letter to the outside world, and the embedded SMTP sink for demos.

``smtp.SmtpTransport`` speaks to a real relay over verified TLS; ``sink.MailSink`` is a local
SMTP server that stores every message it receives as files, used by the demo and benchmarks.
"""
