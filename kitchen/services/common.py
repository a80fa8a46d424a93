from __future__ import annotations

# Who the kitchen's own writes name when no one in particular acted (pizzeria.actors.actor_name).
NOBODY = "kitchen"
