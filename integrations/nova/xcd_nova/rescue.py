# Rescue and unrescue: a second instance `<uuid>-rescue` (named `<name>-rescue`, as Nova's XenAPI
# driver named it) booted from the rescue image, with the instance's root disk attached to it as
# a volume, while the instance stays halted; unrescue destroys the rescue instance (the root disk,
# the instance's own, stays) and starts the instance again.
# Owns: that sequence and telling rescue instances apart. Must not: touch the instance's disks.

from nova import exception

from xcd_nova import errors
from xcd_nova import spawn as spawn_body
from xcd_nova.xcd_rest import Client, ServiceError

SUFFIX = '-rescue'


def rescue_id(instance):
    return '%s%s' % (instance.uuid, SUFFIX)


def is_rescue(instance_id):
    return str(instance_id).endswith(SUFFIX)


def _path(instance, *rest):
    return Client.path('v1', 'instances', rescue_id(instance), *rest)


def find(drv, instance):
    try:
        return drv.client.get(_path(instance))
    except ServiceError as err:
        if err.code == 'instance_not_found':
            return None
        raise


def rescue(drv, context, instance, network_info, image_meta):
    if find(drv, instance) is not None:
        raise exception.InstanceNotRescuable(instance_id=instance.uuid,
                                             reason='it is in rescue already')
    found = drv._get(instance)
    root = next((d for d in found.get('disks') or []
                 if d.get('type') == 'disk' and d.get('device') == '0'), None)
    if root is None:
        raise exception.InstanceNotRescuable(instance_id=instance.uuid,
                                             reason='it has no root disk to rescue')
    volumes = drv.client.get(Client.path('v1', 'instances', instance.uuid, 'volumes'))['items']
    if any(v.get('device') == '0' for v in volumes):
        # Booted from a volume: the service attaches a volume to one instance at a time.
        raise exception.InstanceNotRescuable(instance_id=instance.uuid,
                                             reason='it boots from a volume')
    source = drv._image_source(context, image_meta, instance)
    body = spawn_body.build(instance, source, [], None, False, [], drv.conf)
    body['name'] = '%s%s' % (instance.name, SUFFIX)
    for what in ('disks', 'root_disk_gb', 'user_data', 'metadata'):
        body.pop(what, None)
    body['nics'] = [{'network': nic['network']} for nic in found.get('nics') or []]
    was_running = found.get('power_state') == 'running'
    drv.power_off(instance)
    try:
        drv._run('PUT', _path(instance), instance, body=body, what='rescue')
        try:
            drv.client.run('PUT', _path(instance, 'volumes', root['uuid']), body={},
                           timeout=drv.conf.operation_timeout)
        except ServiceError as err:
            if err.code == 'disk_in_use':
                # The service attaches no disk that another instance holds, halted or not.
                raise NotImplementedError('the service cannot attach the instance\'s root '
                                          'disk to its rescue instance: %s' % err.detail)
            raise errors.to_nova(err, instance, method='rescue')
        drv._run('POST', _path(instance, 'actions'), instance, body={'action': 'power-on'},
                 what='rescue')
    except Exception:
        drv._destroy_quietly_id(rescue_id(instance))
        if was_running:
            drv._action(instance, {'action': 'power-on'}, 'rescue')
        raise


def unrescue(drv, instance):
    if find(drv, instance) is None:
        return  # not in rescue (Nova's manager checks vm_state first): nothing to undo
    drv._run('DELETE', _path(instance), instance, what='unrescue')
    drv._action(instance, {'action': 'power-on'}, 'unrescue')


def destroy(drv, instance):
    """The rescue instance goes with the instance."""
    drv._run('DELETE', _path(instance), instance, what='destroy')
