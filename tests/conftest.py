"""Shared pytest configuration for the cchc_xl tests."""


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "libreoffice: needs a real LibreOffice (soffice + python3-uno); "
        "skipped when absent, fails when CI=true",
    )
