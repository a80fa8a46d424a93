"""What every process reports, whatever app it runs: the log context and structured logs, the shared
counters (Redis), and the OpenTelemetry set-up and helpers. Imports no app: the bus and the apps
write through it; ops/ reads the counters back and serves them at /metrics."""
