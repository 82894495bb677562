# OpenNebula transfer manager driver `xcd` (one_tm): the disks of a VM on a xen-compute-driver
# pool. The TM keeps no state of its own: before the VM exists (prolog) its actions only check
# what the VMM's deploy will build from the deployment file, which carries every DISK and the
# CONTEXT; once the instance exists they act on its disks (DISK_ID n at its device position),
# snapshots of one disk included.
# Owns: each action's argv (as one_tm passes a transfer file's line), exit codes, ERROR: lines.
# Must not: run a shell, write under the system datastore's directories, or read stdin (none).

import os
import re
import sys

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'vmm', 'xcd'))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'datastore', 'xcd'))

from xcd_disks import (ROOT_DISK_ID, TRANSFER_FORMAT, DiskError, MiB, device,  # noqa: E402
                       disk_id_of_path, instance_id, size_gb, source_image)
from xcd_one import OPERATION_TIMEOUT, client, config  # noqa: E402
from xcd_rest import Client, ServiceError  # noqa: E402


class ActionError(Exception):
    pass


def info(message):
    sys.stderr.write('INFO: %s\n' % message)


def ipath(iid, *rest):
    return Client.path('v1', 'instances', iid, *rest)


def _instance(api, vmid):
    try:
        return api.get(ipath(instance_id(vmid)))
    except ServiceError as err:
        if err.code == 'instance_not_found':
            return None
        raise


def _disk_path(dst):
    disk_id = disk_id_of_path(dst)
    if disk_id is None:
        raise ActionError('not a disk of the system datastore: %r' % dst)
    return disk_id


def _active_image(api, image):
    try:
        found = api.get(Client.path('v1', 'images', image))
    except ServiceError as err:
        if err.code in ('not_found', 'image_not_found'):
            raise ActionError('the service has no image %s' % image)
        raise
    if found.get('status') != 'active':
        raise ActionError('the image %s is %s, not active' % (image, found.get('status')))
    return found


# -- prolog: checks (deploy builds the disks) ---------------------------------------------------

def clone(api, args):
    """clone <fe:SOURCE> <host:dir/disk.N> <vmid> <dsid>: the image must be active."""
    src, dst = args[0], args[1]
    _disk_path(dst)
    _active_image(api, source_image(src))


def ln(api, args):
    """ln <fe:SOURCE> <host:dir/disk.N> <vmid> <dsid>: a persistent image, which deploy (the
    root disk too: the spawn's `persistent_image`) or attach_disk attaches as it is, the VM
    writing into the image. It must be active and used by no other VM."""
    src, dst, vmid = args[0], args[1], args[2]
    _disk_path(dst)
    image = source_image(src)
    user = _active_image(api, image).get('in_use_by')
    if user is not None and user != instance_id(vmid):
        raise ActionError('the persistent image %s is in use by %s' % (image, user))


def mkimage(api, args):
    """mkimage <size MB> <format> <host:dir/disk.N> <vmid> <dsid>: a volatile disk."""
    size_gb(args[0])
    _disk_path(args[2])


def mkswap(api, args):
    """mkswap <size MB> <host:dir/disk.N> <vmid> <dsid>: a volatile swap disk."""
    size_gb(args[0])
    _disk_path(args[1])


def context(api, args):
    """context <context.sh> [files ...] <host:dir/disk.N> <vmid> <dsid>: the config drive is
    made by deploy from the context file oned wrote; extra files cannot be carried."""
    if len(args) > 4:
        raise ActionError('CONTEXT FILES / FILES_DS are not supported by the xcd driver')
    _disk_path(args[-3])


# -- epilog and hot-plug ------------------------------------------------------------------------

def delete(api, args):
    """delete <host:dir[/disk.N]> <vmid> <dsid>: a disk detached while the VM was powered off
    is removed; the VM's directory means the whole instance (terminate, recover --delete). The
    root disk goes with the instance only: a terminate of a powered-off VM deletes each disk,
    then the directory."""
    dst, vmid = args[0], args[1]
    disk_id = disk_id_of_path(dst)
    if disk_id is None:
        api.run('DELETE', ipath(instance_id(vmid)), timeout=OPERATION_TIMEOUT)
        return
    found = _instance(api, vmid)
    dev = device(disk_id)
    if found is None or dev == device(ROOT_DISK_ID):
        return
    if any(d['device'] == dev and d['type'] == 'disk' for d in found['disks']):
        api.run('DELETE', ipath(found['id'], 'disks', dev), timeout=OPERATION_TIMEOUT)


def mv(api, args):
    """mv <src> <dst> <vmid> <dsid>: undeploy, stop and cold migration; the instance stays in
    the pool, halted, with its disks."""


def mvds(api, args):
    """mvds <host:dir/disk.N> <SOURCE> <vmid> <dsid>: a persistent disk goes back to the
    datastore (terminate, after the VMM's shutdown or cancel; a detach). The disk is the image
    itself: the instance releases it (a DELETE of its disk, never destroyed); an instance gone
    already released it. Then the image must be free of the VM."""
    disk_id, image, vmid = _disk_path(args[0]), source_image(args[1]), args[2]
    found = _instance(api, vmid)
    dev = device(disk_id)
    if found is not None and any(d['device'] == dev for d in found['disks']):
        api.run('DELETE', ipath(found['id'], 'disks', dev), timeout=OPERATION_TIMEOUT)
    user = _active_image(api, image).get('in_use_by')
    if user == instance_id(vmid):
        raise ActionError('the image %s is still the disk of %s' % (image, user))


def cpds(api, args):
    """cpds <host:dir/disk.N> <SOURCE> <snap id> <vmid> <dsid>: disk-saveas. Snapshot -1: the
    disk is read from a snapshot of that one disk (any power state; the instance's other disks,
    a persistent image among them, are not touched), streamed into the image SOURCE (named by
    the datastore's mkfs), and that snapshot is deleted; a snapshot id: that snapshot of the
    disk is streamed (it stays)."""
    _disk_path(args[0])
    image, snap, vmid = source_image(args[1]), args[2], args[3]
    if snap not in ('-1', ''):
        _copy_into(api, _snapshot([args[0], snap, vmid]) + '/file', image)
        return
    path = ipath(instance_id(vmid), 'disks', device(_disk_path(args[0])), 'snapshots',
                 'saveas-%s' % image)
    api.run('PUT', path, body={}, timeout=OPERATION_TIMEOUT)
    try:
        _copy_into(api, path + '/file', image)
    finally:
        api.run('DELETE', path, timeout=OPERATION_TIMEOUT)


def _copy_into(api, path, image):
    """The disk bytes at `path` streamed into the service image `image` (VHD on the way)."""
    with api.download(path, {'format': TRANSFER_FORMAT}) as resp:
        api.upload(Client.path('v1', 'images', image), iter(lambda: resp.read(MiB), b''),
                   query={'format': TRANSFER_FORMAT}, timeout=OPERATION_TIMEOUT)


def resize(api, args):
    """resize <host:dir/disk.N> <size MB> <vmid> <dsid>: grow the disk (live when running)."""
    disk_id, size, vmid = _disk_path(args[0]), args[1], args[2]
    body = {'action': 'resize', 'disks': [{'device': device(disk_id), 'size_gb': size_gb(size)}]}
    api.run('POST', ipath(instance_id(vmid), 'actions'), body=body, timeout=OPERATION_TIMEOUT)


def _snapshot(args):
    """The snapshot path `.../disks/{device}/snapshots/{snap id}` of `snap_* <host:dir/disk.N>
    <snap id> <vmid> <dsid>` (oned numbers a disk's snapshots 0, 1, ...)."""
    disk_id, snap = _disk_path(args[0]), args[1].strip()
    if not re.fullmatch(r'[0-9]{1,9}', snap):
        raise ActionError('not a disk snapshot id: %r' % args[1])
    return ipath(instance_id(args[2]), 'disks', device(disk_id), 'snapshots', str(int(snap)))


def snap_create(api, args):
    """snap_create (powered off) and snap_create_live (running, run by the VMM's
    disk_snapshot_create when LIVE_DISK_SNAPSHOTS names xcd-xcd): a snapshot of that one disk
    under oned's snapshot id; a retry of an id already taken answers at once."""
    api.run('PUT', _snapshot(args), body={}, timeout=OPERATION_TIMEOUT)


def snap_delete(api, args):
    """snap_delete: the disk snapshot is destroyed (gone already is fine)."""
    api.run('DELETE', _snapshot(args), timeout=OPERATION_TIMEOUT)


def snap_revert(api, args):
    """snap_revert (powered off): the disk's content back to the snapshot; the snapshot stays."""
    api.run('POST', _snapshot(args) + '/revert', timeout=OPERATION_TIMEOUT)


def migrate(api, args):
    """premigrate / postmigrate / failmigrate: the pool's storage is shared by its hosts."""


def monitor(api, args):
    """monitor <datastore id> (the message on stdin): the system datastore's SR space."""
    import xcd_ds  # noqa: E402  (the datastore driver owns the message and SR figures)
    try:
        msg = xcd_ds.read_message()
        space = xcd_ds.sr_space(api, xcd_ds.text(msg, 'DATASTORE/TEMPLATE/XCD_SR'))
    except xcd_ds.ActionError as err:
        raise ActionError(str(err))
    sys.stdout.write(space + '\n')


# action -> (handler, number of arguments one_tm passes)
ACTIONS = {
    'clone': (clone, 4), 'ln': (ln, 4), 'mkimage': (mkimage, 5), 'mkswap': (mkswap, 4),
    'context': (context, 4), 'delete': (delete, 3), 'mv': (mv, 4), 'mvds': (mvds, 4),
    'cpds': (cpds, 5), 'resize': (resize, 4), 'snap_create': (snap_create, 4),
    'snap_create_live': (snap_create, 4), 'snap_delete': (snap_delete, 4),
    'snap_revert': (snap_revert, 4),
    'premigrate': (migrate, 5), 'postmigrate': (migrate, 5), 'failmigrate': (migrate, 5),
    'monitor': (monitor, 1),
}


def main(action, argv):
    handler, nargs = ACTIONS[action]
    try:
        if len(argv) < nargs:
            raise ActionError('%s needs %d arguments, got %d' % (action, nargs, len(argv)))
        if handler in (mv, migrate):
            return 0
        handler(client(config()), argv)
        return 0
    except (ActionError, DiskError, ServiceError, OSError, ValueError) as err:
        message = ' '.join(str(err).split())
        sys.stderr.write('ERROR: %s: %s\n' % (action, message))
        sys.stderr.write('%s: %s\n' % (action, message))
        return 1
