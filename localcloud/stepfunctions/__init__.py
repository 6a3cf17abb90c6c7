"""Step Functions' API on localcloud's ASL interpreter (``service.StepFunctionsService``), with
executions kept in localcloud's SQLite store (``executions.SqliteExecutionStore``)."""
