# xcd_nova: the Nova compute driver of xen-compute-driver (compute_driver = xcd.XcdDriver).
# Owns: the package namespace only. Must not: import Nova at package import time, so tools
# can read the version without a Nova install. Its REST client, xcd_nova.xcd_rest, is the shared
# integrations/common/xcd_rest.py, which install.py copies into the installed package.

__version__ = '0.1.0'
