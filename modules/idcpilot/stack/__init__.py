"""The real Pulumi engine on the estate's stacks: a workspace per estate (``workspace``), the
offline plan compared with the engine's preview (``compare``), and drift (``drift``)."""
