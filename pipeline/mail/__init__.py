"""E-mail: each institution's form for the month (``mail``) and reminders (``remind``).

recipients  roster rows screened: header injection refused, addresses read and checked
compose     subject and body from jinja2 templates, the MIME message with its attachment
postman     SMTP delivery, one connection per batch
batch       the shared machinery: dry run or send, ledger records, retries
monthly     the monthly mailing of blank forms
reminders   who is chased after the due date, and why
summary     the console summary
"""
