"""The tests, one package: a module imported by another (tests.test_browser by
tests/conftest.py) is the one pytest runs, not a second copy with its own state."""
