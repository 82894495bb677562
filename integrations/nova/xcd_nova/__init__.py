# xcd_nova: the Nova compute driver of xen-compute-driver (compute_driver = xcd.XcdDriver).
# Owns: the package namespace only. Must not: import Nova at package import time, so tools
# can read the version without a Nova install.

__version__ = '0.1.0'
