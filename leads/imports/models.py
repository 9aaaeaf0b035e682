"""An import of a CSV file, and what became of each of its rows (the report, and which leads it created)."""

from django.db import models
from django.utils import timezone

# The columns an import maps, with the label the admin and the report show.
FIELDS = {
    "email": "Email",
    "first_name": "First name",
    "time_zone": "Time zone",
    "tags": "Tags",
    "consent_date": "Consent date",
    "consent_source": "Consent source",
    "consent_ip": "Consent IP",
}


class LeadImport(models.Model):
    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded: map the columns"
        CHECKING = "checking", "Dry run under way"
        CHECKED = "checked", "Dry run done"
        QUEUED = "queued", "Waiting for a worker"
        RUNNING = "running", "Importing"
        DONE = "done", "Imported"
        UNDONE = "undone", "Undone"

    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64, db_index=True)
    # The decoded file, until the import is done: a worker on any machine resumes from it after a restart.
    content = models.TextField(blank=True)
    delimiter = models.CharField(max_length=1, default=",")
    columns = models.JSONField(default=list)  # the header's names, in order
    mapping = models.JSONField(default=dict)  # field (FIELDS) -> column name
    enrol = models.BooleanField(default=False, help_text="Start the sequence for the rows that come in confirmed")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UPLOADED)
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.CharField(max_length=150, blank=True)
    total_rows = models.PositiveIntegerField(default=0)
    # Data rows done, committed in the same transaction as their leads: a resumed run starts here.
    cursor = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict)  # outcome -> rows, of the import itself
    dry_run_counts = models.JSONField(default=dict)  # outcome -> rows, of the last dry run
    # Moved when a worker is asked and by every committed chunk: work whose heartbeat stopped lost its worker.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        # Bringing people in (and taking them out again) is a right of its own: view-only staff see imports only.
        permissions = [("import_leads", "Can import leads")]

    def __str__(self) -> str:
        return f"Import #{self.pk}: {self.file_name}"


class LeadImportRow(models.Model):
    """One row of the file: its outcome in the dry run (`dry_run`) or in the import, with the lead it created."""

    class Outcome(models.TextChoices):
        CONFIRMED = "confirmed", "Imported, confirmed (consent evidence)"
        PENDING = "pending", "Imported, asked to confirm by email"
        INVALID_ADDRESS = "invalid_address", "Invalid address"
        INVALID_VALUE = "invalid_value", "Invalid value"
        DUPLICATE = "duplicate", "Duplicate mailbox in the file"
        REFUSED = "refused", "Suppressed or unsubscribed"
        EXISTING = "existing", "Already a lead"

    # No index of its own: the unique (lead_import, dry_run, line) index leads with it.
    lead_import = models.ForeignKey(LeadImport, on_delete=models.CASCADE, related_name="rows", db_index=False)
    dry_run = models.BooleanField(default=False)
    line = models.PositiveIntegerField()  # the line of the file the row ends on (the header is line 1)
    # The address as written, for refused rows only: a created lead's address is on the lead (and goes with it).
    email = models.CharField(max_length=254, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    detail = models.CharField(max_length=300, blank=True)
    lead = models.ForeignKey("leads.Lead", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="import_rows")
    kept = models.CharField(max_length=300, blank=True, help_text="Why undo kept this lead")

    class Meta:
        ordering = ["line"]
        constraints = [models.UniqueConstraint(fields=["lead_import", "dry_run", "line"],
                                               name="one_report_row_per_line")]

    def __str__(self) -> str:
        return f"line {self.line}: {self.outcome}"
