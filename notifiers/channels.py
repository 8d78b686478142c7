"""The channel registry: each config ``type`` mapped to the module that delivers it.

Adding a channel means writing its module (``Config`` with ``type: Literal[...]``, its pure
``build_*`` function, ``send``), then adding it to ``CHANNELS`` and ``AnyChannel`` below; a unit
test holds the two in step. Importing this module only imports the channel modules: no
reflection, no registration side effects. (Email is not here: it is configured by ``smtp:`` and
delivered by ``notifiers.email``.)

Every ``send`` has the same shape::

    await module.send(message, cfg, http, recipient)   # recipient: a phone for sms, else unused
"""

from __future__ import annotations

from typing import Annotated, cast

from pydantic import Field

from monitor.errors import NotifierError
from notifiers import google_chat, slack, sms, teams, webhook
from notifiers.base import ChannelConfig, ChannelModule

CHANNELS: dict[str, ChannelModule] = {
    # cast: a module satisfies the protocol structurally; mypy cannot see that a module's
    # ``Config`` class and ``send`` function fit it.
    "teams": cast(ChannelModule, teams),
    "slack": cast(ChannelModule, slack),
    "google_chat": cast(ChannelModule, google_chat),
    "webhook": cast(ChannelModule, webhook),
    "sms": cast(ChannelModule, sms),
}
"""``type`` → channel module."""

AnyChannel = Annotated[
    teams.Config | slack.Config | google_chat.Config | webhook.Config | sms.Config,
    Field(discriminator="type"),
]
"""Any channel config, chosen by its ``type`` key (for ``channels: {name: AnyChannel}``)."""


def module_for(cfg: ChannelConfig) -> ChannelModule:
    """The module that delivers through ``cfg``.

    Raises a permanent ``NotifierError`` for a type with no module, which only a config built
    outside ``AnyChannel`` can have.
    """
    try:
        return CHANNELS[cfg.type]
    except KeyError:
        raise NotifierError(f"no channel module for type {cfg.type!r}", permanent=True) from None


__all__ = ["CHANNELS", "AnyChannel", "ChannelConfig", "ChannelModule", "module_for"]
