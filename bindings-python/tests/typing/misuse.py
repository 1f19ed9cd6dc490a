"""Must NOT type-check: the decorator keeps parameter types (tests/test_typing.py)."""

from tripwire import CircuitBreaker

breaker = CircuitBreaker("misuse")


@breaker
def get_user(user_id: int) -> str:
    return str(user_id)


get_user("not an int")
breaker.call(get_user, 1, 2)
