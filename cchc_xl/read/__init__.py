"""Reading returned workbooks: structure (package) and values."""
