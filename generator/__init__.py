"""matchguide: personalized residency-application guides from profiles and content."""

__version__ = "0.1.0"
GENERATOR = f"matchguide {__version__}"
