"""Event-streaming connector for contact-centre agent activity."""

__version__ = "0.1.0"
