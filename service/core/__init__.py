"""Settings, engines and the unit of work, the error model, the audit log, the working calendar."""
