"""The Simplified Chinese catalogue of everything the bot says, one module per area.

``flows`` holds the conversations' texts, ``notify`` the pushes and reminders. Keeping
texts here, not in handlers, lets the whole catalogue be reviewed and translated at once.
"""
