"""Geometry of the loss along lines: kinks (nonsmooth points) and their jumps."""

from lossrecon.geometry.line_reader import Kink, LineReading, read_line

__all__ = ["Kink", "LineReading", "read_line"]
