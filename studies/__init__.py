"""The repository's studies and generated documents, built on the ``tokenized_cot_icl`` library.

Study 1 and Study 2 (:mod:`.study1`, :mod:`.study2`), the paper claims and their verdicts
(:mod:`.claims`), their figures (:mod:`.figures`) and the Markdown of docs/EXPERIMENTS.md
(:mod:`.reproduction`, :mod:`.markdown`, :mod:`.study_markdown`) and docs/VERIFICATION.md
(:mod:`.verification_report`, :mod:`.verification_document`). Run through ``scripts/reproduce.py``
and ``scripts/verification_report.py``. This folder imports the package; the package never imports it.
"""
