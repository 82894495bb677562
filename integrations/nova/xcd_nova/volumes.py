# Cinder's connection_info in the service's terms: an iSCSI volume's `connection` passed through to
# `PUT /v1/instances/{id}/volumes/{volume id}` (the service introduces the SR, plugs its PBDs and
# attaches the LUN's VDI), a pool VDI by its uuid, and the connector Cinder exports a target to.
# Owns: connection_info -> (volume id, request body), a spawn's root volume, the connector dict,
# volume error mapping.
# Must not: call the service or log connection data (it carries CHAP secrets).

import re

from nova import exception

from xcd_nova import errors


class UnsupportedVolumeType(exception.VolumeDriverNotFound, NotImplementedError):
    """A driver_volume_type the pool cannot attach: Nova's VolumeDriverNotFound, and for Nova's
    generic tests (which catch NotImplementedError) the driver declining it."""


def attachment(connection_info):
    """(volume id for the path, request body, whether the connection is Cinder's) or raise."""
    data = connection_info.get('data') or {}
    if data.get('vdi_uuid'):
        return str(data['vdi_uuid']), {}, False
    kind = connection_info.get('driver_volume_type')
    if kind != 'iscsi':
        raise UnsupportedVolumeType(driver_type=kind)
    volume_id = data.get('volume_id') or connection_info.get('serial')
    if not volume_id:
        raise exception.VolumeAttachFailed(volume_id=None,
                                           reason='the connection names no volume id')
    # Cinder's connection as it is: the service takes the target and CHAP members and ignores
    # the rest (volume_id, access_mode, target_discovered, encrypted ...).
    body = {'connection': {'driver_volume_type': 'iscsi', 'data': dict(data)}}
    if str(data.get('access_mode') or '').lower() == 'ro':
        body['mode'] = 'RO'
    return str(volume_id), body, True


def root_volume(block_device_info):
    """The volume mapping Nova boots the instance from (boot index 0, or mounted at the root
    device name), or None."""
    info = block_device_info or {}
    root = info.get('root_device_name')
    for bdm in info.get('block_device_mapping') or []:
        if bdm.get('boot_index') == 0 or (root and bdm.get('mount_device') == root):
            return bdm
    return None


def root_volume_request(bdm):
    """The spawn's `root_volume` for Nova's root mapping (the LUN by its connection, or a pool
    VDI by uuid) and whether the volume is Cinder's."""
    volume_id, body, cinder = attachment(bdm.get('connection_info') or {})
    request = {'volume_id': volume_id}
    request.update(body)  # `connection` and `mode`, as an attach sends them
    return request, cinder


def device_position(mountpoint):
    """'/dev/xvdc' -> 2: the userdevice a Linux device name stands for."""
    match = re.match(r'^/dev/(?:xv|s|v|h)d([a-z])$', mountpoint or '')
    return ord(match.group(1)) - ord('a') if match else None


def device_name(position):
    return '/dev/xvd%s' % chr(ord('a') + position)


def connector(host, host_uuid, storage_ip):
    """os-brick's connector for the pool host `host_uuid` (the master when None): its initiator
    IQN (GET /v1/host hosts[].iscsi_iqn) and name; `ip` is nova.conf's my_block_storage_ip."""
    hosts = host.get('hosts') or []
    chosen = next((h for h in hosts if host_uuid and h.get('uuid') == host_uuid), None)
    chosen = chosen or next((h for h in hosts if h.get('master')), hosts[0] if hosts else {})
    return {'ip': storage_ip, 'initiator': chosen.get('iscsi_iqn'),
            'host': chosen.get('name') or host.get('hostname')}


# The service's refusals of a volume itself (its attach, or a spawn booting from it).
VOLUME_CODES = ('volume_in_use', 'volume_not_found', 'iscsi_target_unreachable',
                'iscsi_target_not_found', 'iscsi_login_failed', 'iscsi_lun_not_found')


def attach_error(err, instance, volume_id, cinder):
    """The Nova exception for a refused attach: VolumeAttachFailed for a Cinder volume (Nova
    then puts the volume back), the general mapping for a pool VDI."""
    mapped = errors.to_nova(err, instance, method='attach_volume')
    if not cinder or isinstance(mapped, (NotImplementedError, exception.InstanceNotFound)):
        return mapped
    return exception.VolumeAttachFailed(volume_id=volume_id, reason=err.detail or err.code)


def detach_error(err, instance, volume_id, cinder):
    mapped = errors.to_nova(err, instance, method='detach_volume')
    if not cinder or isinstance(mapped, (NotImplementedError, exception.InstanceNotFound)):
        return mapped
    return exception.VolumeDetachFailed(volume_id=volume_id, reason=err.detail or err.code)
