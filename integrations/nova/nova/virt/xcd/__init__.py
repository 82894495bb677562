# nova.virt.xcd: the shim Nova loads (`compute_driver = xcd.XcdDriver`; Nova imports drivers only
# from nova.virt.*). Owns: re-exporting the driver. Must not: hold any code of its own.
# install.py copies this directory into the installed nova/virt/ package.

from xcd_nova.driver import XcdDriver  # noqa: F401

__all__ = ['XcdDriver']
