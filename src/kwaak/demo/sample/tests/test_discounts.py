import unittest

from pricing.discounts import apply_discount, order_total


class DiscountTest(unittest.TestCase):
    def test_ten_percent_off(self) -> None:
        self.assertEqual(apply_discount(200.0, 10), 180.0)

    def test_no_discount(self) -> None:
        self.assertEqual(order_total([10.0, 5.5]), 15.5)

    def test_rejects_bad_percent(self) -> None:
        with self.assertRaises(ValueError):
            apply_discount(10.0, 120)


if __name__ == "__main__":
    unittest.main()
