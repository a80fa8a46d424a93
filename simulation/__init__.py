"""`manage.py simulate`: customers order through the HTTP API, simulated staff drive the kitchen and
dispatch through the kitchen's services, and a live display shows the shop and the event bus."""
