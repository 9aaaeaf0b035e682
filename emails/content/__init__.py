"""Email copy as data: every email's subject, preheader and Markdown body are versioned rows (models.py), shipped
as files in `files/` and loaded on migrate, rendered at send time through the MJML layout, edited in the admin.
"""
