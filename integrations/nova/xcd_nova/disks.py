# The instance's disks as Nova's disk queries want them: the libvirt driver's disk-info list and
# the next free device name. Owns: those shapes, from the service's Instance and its volumes.
# Must not: call the service (the driver passes what it read) or count a volume as the
# instance's own disk.

import json

from nova import exception

from xcd_nova import volumes

GiB = 1024 ** 3
MAX_POSITION = 15  # the highest VBD userdevice this driver names (xvdp)


def disk_info(found, volume_uuids):
    """get_instance_disk_info's JSON: each of the instance's own disks (its volumes left out)."""
    disks = []
    for disk in found.get('disks') or []:
        if disk.get('type') != 'disk' or disk.get('uuid') in volume_uuids:
            continue
        size = int(disk['size_gb'] * GiB)
        disks.append({'type': 'vhd', 'path': 'xcd:%s' % disk['uuid'], 'virt_disk_size': size,
                      'backing_file': '', 'disk_size': size, 'over_committed_disk_size': 0})
    return json.dumps(disks)


def free_device_name(found, bdms):
    """The lowest device position after the root disk that neither the instance's disks nor
    the other mappings take, as /dev/xvdX."""
    used = {int(d['device']) for d in found.get('disks') or []}
    used |= {volumes.device_position(getattr(b, 'device_name', None)) for b in bdms or []}
    for position in range(1, MAX_POSITION + 1):
        if position not in used:
            return volumes.device_name(position)
    raise exception.TooManyDiskDevices(maximum=MAX_POSITION)
