"""Monthly returns pipeline for district health bureau reporting campaigns.

Library entry points: :func:`pipeline.run.run_period` (the monthly run),
:func:`pipeline.distribute.templates.write_templates` (blank forms),
:func:`pipeline.ledger.baseline.import_baseline` (mid-campaign adoption),
:func:`pipeline.mail.monthly.mail_forms` (the forms by e-mail) and
:func:`pipeline.mail.reminders.send_reminders` (催报).
"""

__version__ = "0.1.0"
