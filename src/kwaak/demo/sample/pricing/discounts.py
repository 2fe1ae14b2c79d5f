"""Discounts and totals."""


def apply_discount(price: float, percent: float) -> float:
    """Return ``price`` reduced by ``percent`` percent."""
    if not 0 <= percent <= 100:
        raise ValueError("percent must be between 0 and 100")
    return round(price * percent / 100, 2)


def order_total(prices: list[float], percent: float = 0) -> float:
    """Sum the prices and apply one discount to the total."""
    return apply_discount(sum(prices), percent)
