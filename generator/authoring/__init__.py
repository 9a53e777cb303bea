"""Tools for the people who write profiles and content: new, import, export, serve, explain, coverage."""
