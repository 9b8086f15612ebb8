"""Reminders before deadlines and pushes of events: the dispatcher, its limiter and senders."""
