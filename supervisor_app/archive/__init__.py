"""The supervisor's archive: past projects (NLE timelines) and approved mockups as picture/music pairs
for training Seg-VM-Net (issue 19). Core only (no Qt); the CLI (``archive ...``) and the app call the
same functions:

- :func:`import_projects` / :func:`import_project` (``archive import``),
- :func:`record_mockup_decision` (the app's approve/reject, ``mockup --approve/--reject``),
- :func:`summaries`, :func:`project_summary`, :func:`export_dataset`, :func:`store.remove_project`,
  :func:`store.relink` (``archive list/show/export/remove/relink``),
- :func:`train_from_archive` (``train segvmnet --archive``, the app's "Train on your archive"),
- :func:`model_summary` (the app's model selector: held-out numbers beside chance and fit-only).
"""
from supervisor_app.archive.importer import ImportReport, import_project, import_projects
from supervisor_app.archive.inspect import ProjectSummary, export_dataset, project_summary, summaries
from supervisor_app.archive.mockups import MockupDecision, record_mockup_decision

__all__ = ["ImportReport", "import_project", "import_projects", "ProjectSummary", "export_dataset", "project_summary",
           "summaries", "MockupDecision", "record_mockup_decision"]
