# Installs the driver with install.py into a scratch directory and makes that copy the one Python
# imports: <scratch>/site on sys.path, <scratch>/nova/virt joined to nova.virt's path (as if
# install.py had written into Nova's own nova/virt). Owns: that setup, shared by the test entry
# points. Must not: write into the system's Nova, or let the repository's xcd_nova be imported.

import os
import subprocess
import sys

INSTALL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'install.py')


def install(scratch):
    """Runs install.py into `scratch`; returns (site dir, nova/virt dir), both importable."""
    site = os.path.join(scratch, 'site')
    virt = os.path.join(scratch, 'nova', 'virt')
    os.makedirs(site)
    os.makedirs(virt)
    subprocess.run([sys.executable, INSTALL, '--site-dir', site, '--nova-virt-dir', virt],
                   check=True, stdout=subprocess.DEVNULL)
    sys.path.insert(0, site)
    import nova.virt
    nova.virt.__path__.append(virt)
    return site, virt
