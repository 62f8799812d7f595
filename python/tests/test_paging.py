"""fd.lengths_from_last_page_len on plain Python sequences (array-like)."""
import unittest

import fd


class Vec(list):
    """A minimal array: elementwise arithmetic and comparison, as torch,
    CuPy and NumPy arrays have."""

    def _map(self, other, f):
        if isinstance(other, list):
            return Vec(f(a, b) for a, b in zip(self, other))
        return Vec(f(a, other) for a in self)

    def __getitem__(self, i):
        r = list.__getitem__(self, i)
        return Vec(r) if isinstance(i, slice) else r

    def __sub__(self, o):
        return self._map(o, lambda a, b: a - b)

    def __add__(self, o):
        return self._map(o, lambda a, b: a + b)

    def __mul__(self, o):
        return self._map(o, lambda a, b: a * b)

    def __gt__(self, o):
        return self._map(o, lambda a, b: int(a > b))


class LengthsFromLastPageLen(unittest.TestCase):
    def test_flashinfer_triple(self):
        # Sequences of 0, 1, 16, 17 and 40 tokens on 16-token pages.
        indptr = Vec([0, 0, 1, 2, 4, 7])
        last = Vec([0, 1, 16, 1, 8])
        self.assertEqual(fd.lengths_from_last_page_len(indptr, last, 16),
                         [0, 1, 16, 17, 40])

    def test_page_size_one(self):
        indptr = Vec([0, 3, 3, 4])
        last = Vec([1, 0, 1])
        self.assertEqual(fd.lengths_from_last_page_len(indptr, last, 1),
                         [3, 0, 1])

    def test_bad_input(self):
        with self.assertRaisesRegex(ValueError, "page_size must be a positive"):
            fd.lengths_from_last_page_len(Vec([0, 1]), Vec([1]), 0)
        with self.assertRaisesRegex(ValueError, "last_page_len needs 2, got 1"):
            fd.lengths_from_last_page_len(Vec([0, 1, 2]), Vec([1]), 16)


if __name__ == "__main__":
    unittest.main()
