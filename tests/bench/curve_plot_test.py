#!/usr/bin/env python3
"""bench/curve_plot.py: the plot scripts' time to target interpolates as racesgd does
(bench/time_to_target.h), and their lines break where a curve was not evaluated. No
matplotlib needed. Usage: curve_plot_test.py SOURCE_DIR"""
import math
import os
import sys
import unittest

sys.path.insert(0, os.path.join(sys.argv.pop(1) if len(sys.argv) > 1 else ".", "bench"))
import curve_plot  # noqa: E402


class Crossing(unittest.TestCase):
    def test_log_error_linear_time(self):
        xs, es = [0, 1.5, 3], [0.9, 0.2, 0.05]
        t, res = curve_plot.crossing(xs, es, 0.1)
        self.assertAlmostEqual(t, 2.25)  # halfway from 0.2 to 0.05 in log error
        self.assertAlmostEqual(res, 1.5)
        self.assertAlmostEqual(curve_plot.crossing(xs, es, 0.3)[0],
                               1.5 * math.log(3) / math.log(4.5))
        self.assertIsNone(curve_plot.crossing(xs, es, 0.01))

    def test_edges(self):
        self.assertEqual(curve_plot.crossing([0.5, 1], [0.05, 0.01], 0.1), (0.5, 0.0))
        self.assertEqual(curve_plot.crossing([0, 2], [0.5, 0], 0.1), (2, 2))
        t, res = curve_plot.crossing([0, 1, 2, 4], [0.9, 0.4, math.nan, 0.1], 0.2)
        self.assertAlmostEqual(t, 2.5)
        self.assertAlmostEqual(res, 3)


class Gaps(unittest.TestCase):
    def test_a_geometric_curve_is_drawn_whole(self):
        xs = [1e-3 * 1.015 ** k for k in range(300)]
        ups = [10 * k for k in range(300)]
        self.assertTrue(all(curve_plot.drawn_segments(xs, ups)))

    def test_a_wide_stretch_over_many_updates_is_not_drawn(self):
        # The old auto grid: 0, then 0.12 s with ~200 updates, then every 0.12 s.
        xs = [0.12 * k for k in range(101)]
        ups = [200 * k for k in range(101)]
        drawn = curve_plot.drawn_segments(xs, ups)
        self.assertFalse(drawn[0])   # 0 -> 0.12: everything happened there, unseen
        self.assertFalse(drawn[3])   # 0.36 -> 0.48: 25% of the time axis
        self.assertTrue(drawn[-1])   # 11.88 -> 12: 1%
        # One update between two points is a step the line may draw, however wide.
        self.assertTrue(all(curve_plot.drawn_segments([0, 1, 5], [0, 1, 2])))

    def test_mean_band_breaks_and_skips_zero(self):
        xs = [0, 0.001, 0.002, 0.5, 0.51]
        ups = [0, 1, 2, 100, 101]
        es = [0.9, 0.8, 0.7, 0.3, 0.29]
        grid, mean, lo, hi = curve_plot.mean_band([(xs, ups, es), (xs, ups, [e / 2 for e in es])])
        self.assertEqual(grid[0], 0.001)  # no point at 0 on a log axis
        self.assertEqual(len(grid), 5)    # 4 points and one break
        self.assertTrue(math.isnan(mean[2]))
        self.assertAlmostEqual(mean[0], 0.6)
        self.assertEqual((lo[0], hi[0]), (0.4, 0.8))
        self.assertEqual(curve_plot.isolated([1, math.nan, 2, 3, math.nan, 4]), [0, 5])
        # Linear axes keep the start.
        self.assertEqual(curve_plot.mean_band([(xs, ups, es)], positive=False)[0][0], 0)


if __name__ == "__main__":
    unittest.main()
