"""The task every delivery message runs. A constant in a module that imports nothing: publishers
look the task up by name, so they need not import tasks.py (which imports the runner)."""

RUN_DELIVERY = "eventbus.run_delivery"
