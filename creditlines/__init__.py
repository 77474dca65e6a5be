"""creditlines: base credit lines and vendor-funded supplementary lines for IT resellers."""

__version__ = "0.1.0"
