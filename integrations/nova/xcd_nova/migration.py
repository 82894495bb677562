# Resize and cold migration inside the pool (one Nova node): the instance stays the same VM.
# migrate_disk_and_power_off powers it off and takes a disk snapshot under a fixed id; finish_
# migration applies the new flavor with the service's resize action (disks only grow);
# confirm_migration deletes the snapshot; a revert reverts the VM to it (old flavor and disks).
# Owns: that sequence. Must not: keep state outside the pool (the snapshot is the record).

import json

from nova.compute import task_states
from nova import exception

from xcd_nova.xcd_rest import ServiceError

# The snapshot id that holds an instance's pre-resize state while Nova's resize is unconfirmed.
RESIZE_SNAPSHOT = 'nova-resize'


def _snapshot_path(drv, instance):
    return drv._ipath(instance, 'snapshots', RESIZE_SNAPSHOT)


def has_resize_snapshot(drv, instance):
    try:
        drv.client.get(_snapshot_path(drv, instance))
        return True
    except ServiceError as err:
        if err.code in ('snapshot_not_found', 'instance_not_found'):
            return False
        raise


def _drop_snapshot(drv, instance):
    drv._run('DELETE', _snapshot_path(drv, instance), instance, what='confirm_migration')


def _root(found):
    return next((d for d in found.get('disks') or []
                 if d.get('type') == 'disk' and d.get('device') == '0'), None)


def migrate_disk_and_power_off(drv, instance, flavor, timeout, retry_interval):
    found = drv._get(instance)
    root = _root(found)
    if root is not None and flavor.root_gb and root['size_gb'] > flavor.root_gb:
        raise exception.InstanceFaultRollback(inner_exception=exception.ResizeError(
            reason='the root disk (%s GB) cannot shrink to %d GB'
                   % (root['size_gb'], flavor.root_gb)))
    drv.power_off(instance, timeout, retry_interval)
    _drop_snapshot(drv, instance)  # one left by an earlier resize that never finished
    drv._run('PUT', _snapshot_path(drv, instance), instance,
             body={'name': '%s-%s' % (instance.name, RESIZE_SNAPSHOT)},
             what='migrate_disk_and_power_off')
    return json.dumps({})  # the disks stay where they are: nothing for finish_migration


def finish_migration(drv, instance, resize_instance, power_on):
    flavor = instance.flavor
    if resize_instance:
        found = drv._get(instance)
        body = {'action': 'resize', 'vcpus': int(flavor.vcpus),
                'memory_mb': int(flavor.memory_mb), 'max_vcpus': int(flavor.vcpus),
                'max_memory_mb': int(flavor.memory_mb)}
        root = _root(found)
        if root is not None and flavor.root_gb and flavor.root_gb > root['size_gb']:
            body['disks'] = [{'device': '0', 'size_gb': int(flavor.root_gb)}]
        drv._action(instance, body, 'finish_migration')
    if power_on:
        drv._action(instance, {'action': 'power-on'}, 'finish_migration')


def confirm_migration(drv, instance):
    _drop_snapshot(drv, instance)


def finish_revert_migration(drv, instance, power_on):
    if has_resize_snapshot(drv, instance):
        drv._run('POST', drv._ipath(instance, 'snapshots', RESIZE_SNAPSHOT, 'revert'), instance,
                 body={'power_on': bool(power_on)}, what='finish_revert_migration')
        _drop_snapshot(drv, instance)
    elif power_on:
        drv.power_on(None, instance, None)


def keeps_vm_for_revert(drv, instance):
    """Nova's revert destroys the instance on the destination before finish_revert_migration
    runs on the source; inside one pool they are the same VM, which the revert still needs."""
    return (getattr(instance, 'task_state', None) == task_states.RESIZE_REVERTING
            and has_resize_snapshot(drv, instance))
