from django.contrib.auth import get_user_model

from pizzeria.actors import actor_name


def test_actor_name():
    User = get_user_model()
    assert actor_name(None) == "system"
    assert actor_name(None, nobody="kitchen") == "kitchen"
    assert actor_name(User(username="luigi")) == "luigi"
    assert actor_name(User(username="")) == "anonymous"
    assert actor_name("inventory", nobody="kitchen") == "inventory"
