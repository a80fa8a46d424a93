from django.apps import AppConfig


class SimulationConfig(AppConfig):
    name = "simulation"
    label = "simulation"
    verbose_name = "Simulation"
