"""Delivery channels: one module per channel, each delivering a rendered ``Message``.

A channel module offers:

- a pure ``build_*`` function that turns a ``monitor.model.Message`` into what the channel
  sends (an email, a JSON payload), so its shape is tested without a network;
- ``async def send(message, ...) -> None`` that delivers it once and either returns or raises
  ``monitor.errors.NotifierError(reason, permanent=...)``. ``permanent=True`` means retrying
  the same message cannot succeed. Retrying and backoff belong to the outbox, not to channels.

Channels format; they never decide who is told or when.
"""
