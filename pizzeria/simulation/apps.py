from django.apps import AppConfig


class SimulationConfig(AppConfig):
    name = "pizzeria.simulation"
    label = "simulation"
    verbose_name = "Simulation"
