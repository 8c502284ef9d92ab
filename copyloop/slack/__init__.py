"""The Slack bot: a thin Bolt shell over chat sessions.

``app`` builds the Bolt app and its listeners (``build_app``/``build_bot`` factories, HTTP and
Socket Mode), ``blocks`` renders drafts as Block Kit, ``ledger`` de-duplicates Slack's retries.
Import ``copyloop.slack.app`` for the factories; importing this package loads nothing heavy.
"""
