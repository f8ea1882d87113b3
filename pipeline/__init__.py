"""Monthly returns pipeline for district health bureau reporting campaigns.

Library entry points: :func:`pipeline.run.run_period` (the monthly run),
:func:`pipeline.distribute.templates.write_templates` (blank forms),
:func:`pipeline.ledger.baseline.import_baseline` (mid-campaign adoption) and
:func:`pipeline.mail.monthly.mail_forms` (the forms by e-mail).
"""

__version__ = "0.1.0"
