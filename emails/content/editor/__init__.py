"""The copy editor in the admin: edit an email's subject, preheader and Markdown body with a live preview, save
drafts, publish versions, compare any two versions and roll back (views.py), with EmailCopyAdmin as its entry."""
