"""Documents for people, from the ledger of a reporting round (stage above merge and validate).

* :mod:`.admin_document` — the layout of a Vietnamese administrative document (Nghị định
  30/2020/NĐ-CP): A4 page and margins, Times New Roman, national motto, issuing body, number and
  symbol, place and date, title, recipients, signature block; a DỰ THẢO (draft) mark.
* :mod:`.numbers` — figures written the Vietnamese way (1.234; 85,3).
* :mod:`.round_facts` — what one round holds, read from the ledger through merge's own code: the
  submissions, the province totals and rates the roll-up computes, the units' narrative texts.
* :mod:`.report_content` — the provincial report's content, ordered by the outline (đề cương).
* :mod:`.provincial_report` — ``cchc_xl report``: that content written as a draft report (.docx).
* :mod:`.reminder` — ``cchc_xl remind``: the units missing, late or with errors, with their
  annotated copies, and the reminder letter (công văn đôn đốc).

Nothing here re-implements a sum or a rate: figures are those of :func:`merge.rollup.province_tables`.
The generator is never imported (tests/test_architecture.py).
"""
