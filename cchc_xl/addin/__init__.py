"""The cchc_xl Excel add-in (Windows, xlwings): "Kiểm tra tệp này", "Tổng hợp thư mục…",
"Tình hình nộp báo cáo" on a "CCHC" ribbon tab.

* ``actions`` — the functions behind the buttons; they take a book-like object (tested with a fake);
* ``entry`` — the thin ``xlwings.Book.caller()`` glue that the VBA ``RunPython`` calls;
* ``build`` — writes ``cchc_xl.xlam`` from xlwings' add-in template, ``ribbon.xml`` and ``cchc_xl.bas``;
* ``cli`` — ``cchc_xl addin build|install|uninstall``.

Nothing here imports xlwings at import time except ``entry`` when its functions run.
"""
