"""Tools for development and testing: the landing-folder generator and fault injection."""
