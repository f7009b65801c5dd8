"""Fakes of outside services for tests: nothing here talks to anything but 127.0.0.1."""

from tests.fakes.sendgrid_server import FakeSendGrid, RecordedRequest

__all__ = ["FakeSendGrid", "RecordedRequest"]
