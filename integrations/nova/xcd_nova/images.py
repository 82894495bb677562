# Glance images into the service and instance snapshots back into Glance, streamed through this
# process in chunks (never held whole, never written to local disk): Nova's image API object on
# one side, `PUT /v1/images/{id}` and the snapshot disk export on the other.
# Owns: Glance format -> service format, the image properties a Xen pool can honour, the import
# (once; later spawns use the service's copy) and the export. Must not: touch XAPI or guess
# formats from bytes (the service checks the bytes against the format named).

import time

from nova import exception
from nova.image import glance
from oslo_log import log as logging

from xcd_nova import errors
from xcd_nova.xcd_rest import Client, ServiceError

LOG = logging.getLogger(__name__)

# Nova's image API, the object Nova's own drivers download and upload with.
IMAGE_API = glance.API()

# Glance (disk_format, container_format) -> the service's ImageFormat. `vhd` comes bare or
# labelled ovf (how Nova's XenAPI driver labelled its VHD snapshots); any container for the rest.
_FORMATS = {
    ('raw', None): 'raw',
    ('vhd', 'bare'): 'vhd',
    ('vhd', 'ovf'): 'vhd',
    ('qcow2', None): 'qcow2',
}
# Container formats that carry the disk as it is (docker, ova, aki ... wrap it in something else).
_PLAIN_CONTAINERS = ('bare', 'ovf', None)
# Nova's canonical image properties -> the spawn's boot settings. `hw_vm_mode` `xen` is a PV
# guest (Nova canonicalises `pv` to it); Nova's other modes (uml, exe) are no Xen guests.
_VM_MODES = {'hvm': 'hvm', 'xen': 'pv'}
_FIRMWARES = ('bios', 'uefi')
# `os_secure_boot`: required -> on, disabled -> off, optional -> the template's choice.
_SECURE_BOOT = {'required': True, 'disabled': False, 'optional': None}
_POLL = 1.0  # seconds between looks at an image another spawn is importing
_DROPS = 2  # connections dropped during an import before the build fails


def _field(obj, name):
    try:
        if hasattr(obj, 'obj_attr_is_set') and not obj.obj_attr_is_set(name):
            return None
        return getattr(obj, name, None)
    except (NotImplementedError, AttributeError, KeyError):
        return None


def service_format(image_meta):
    """The service's format for a Glance image; ImageUnacceptable when the pool cannot take it."""
    image_id = _field(image_meta, 'id')
    disk = _field(image_meta, 'disk_format')
    container = _field(image_meta, 'container_format')
    if container not in _PLAIN_CONTAINERS:
        raise exception.ImageUnacceptable(
            image_id=image_id, reason='container format %r: only bare (or ovf for vhd) images '
                                      'import into the pool' % container)
    fmt = _FORMATS.get((disk, container)) or _FORMATS.get((disk, None))
    if fmt is None:
        raise exception.ImageUnacceptable(
            image_id=image_id, reason='disk format %r in container %r: the pool imports raw, '
                                      'qcow2 and vhd (bare or ovf)' % (disk, container))
    return fmt


def boot_settings(image_meta):
    """The spawn's `vm_mode`, `firmware` and `secure_boot` for the image's `hw_vm_mode`,
    `hw_firmware_type` and `os_secure_boot` (each left out when the image does not set it, so
    a template's own setting stays); ImageUnacceptable for a guest a Xen pool does not run."""
    image_id = _field(image_meta, 'id')
    props = _field(image_meta, 'properties')
    vm_mode = _field(props, 'hw_vm_mode') if props is not None else None
    firmware = _field(props, 'hw_firmware_type') if props is not None else None
    secure = _field(props, 'os_secure_boot') if props is not None else None
    body = {}
    if vm_mode is not None:
        if vm_mode not in _VM_MODES:
            raise exception.ImageUnacceptable(
                image_id=image_id, reason='hw_vm_mode %r: a Xen pool runs hvm and xen (PV) '
                                          'guests' % vm_mode)
        body['vm_mode'] = _VM_MODES[vm_mode]
    if firmware is not None:
        if firmware not in _FIRMWARES:
            raise exception.ImageUnacceptable(
                image_id=image_id, reason='hw_firmware_type %r: the pool boots bios or uefi'
                                          % firmware)
        body['firmware'] = firmware
    if _SECURE_BOOT.get(secure) is not None:
        body['secure_boot'] = _SECURE_BOOT[secure]
    if body.get('vm_mode') == 'pv' and (firmware == 'uefi' or body.get('secure_boot')):
        raise exception.ImageUnacceptable(
            image_id=image_id, reason='UEFI firmware and Secure Boot need hw_vm_mode hvm')
    if body.get('secure_boot') and firmware == 'bios':
        raise exception.ImageUnacceptable(
            image_id=image_id, reason='os_secure_boot required needs hw_firmware_type uefi')
    return body


def _checksum(image_meta):
    md5 = _field(image_meta, 'checksum')
    return 'md5:%s' % md5 if md5 and len(md5) == 32 else None


def _path(image_id):
    return Client.path('v1', 'images', image_id)


def ensure(client, context, image_meta, timeout):
    """The service's Image for the Glance image, imported from Glance first when the service
    does not have it. Raises ImageUnacceptable for a format or bytes the pool cannot take; a
    Glance download that fails propagates its exception (the service undid the partial import).
    """
    image_id = str(image_meta.id)
    deadline = time.monotonic() + timeout
    dropped = []
    while True:
        found = _find(client, image_id)
        status = (found or {}).get('status')
        if status == 'active':
            return found
        if status == 'failed':  # an import cut off by a restart of the service: start again
            client.request('DELETE', _path(image_id))
        elif status is not None or not _import_wanted(client, context, image_meta, deadline,
                                                      dropped):
            if time.monotonic() > deadline:
                raise exception.ImageUnacceptable(
                    image_id=image_id, reason='still importing after %ss' % timeout)
            time.sleep(_POLL)  # another spawn on this pool is importing it


def _import_wanted(client, context, image_meta, deadline, dropped):
    """Imports the image; False when a concurrent import of it holds the id (wait for that),
    or when the service dropped the connection before its answer: a service that refuses a body
    early (an import of the id still being undone) closes the connection, and the reset can
    lose the answer. That is looked at again, up to _DROPS times."""
    try:
        _import(client, context, image_meta, max(1.0, deadline - time.monotonic()))
        return True
    except ServiceError as err:
        if err.code in ('image_busy', 'image_conflict'):
            return False
        if err.code == 'unreachable' and len(dropped) < _DROPS:
            dropped.append(err)
            LOG.warning('Import of image %s: %s; looking again', image_meta.id, err)
            return False
        raise _image_error(err, str(image_meta.id))


def _find(client, image_id):
    try:
        return client.get(_path(image_id))
    except ServiceError as err:
        if err.code in ('image_not_found', 'not_found'):
            return None
        raise errors.to_nova(err, image_id=image_id, method='image')


def _import(client, context, image_meta, timeout):
    image_id = str(image_meta.id)
    fmt = service_format(image_meta)
    chunks = IMAGE_API.download(context, image_id)
    if chunks is None:  # nothing to stream (a download API that writes files only)
        raise exception.ImageUnacceptable(image_id=image_id, reason='Glance gave no data')
    query = {'format': fmt, 'name': _field(image_meta, 'name') or image_id,
             'checksum': _checksum(image_meta)}
    size = _field(image_meta, 'size')
    LOG.info('Importing Glance image %s (%s) into the pool', image_id, fmt)
    try:
        # With Glance's size as Content-Length the service streams the bytes straight into the
        # image's VDI, which other builds of the image then see importing and wait for.
        client.upload(_path(image_id), _sized(chunks, size, image_id), query=query,
                      timeout=timeout, length=size)
    finally:
        close = getattr(chunks, 'close', None)
        if close is not None:
            close()


def _sized(chunks, size, image_id):
    """The chunks, checked against the size Glance gave (a body must not run past its
    Content-Length, nor end before it)."""
    sent = 0
    for chunk in chunks:
        sent += len(chunk)
        if size is not None and sent > size:
            raise exception.ImageUnacceptable(
                image_id=image_id, reason='Glance sent more than the image size %d' % size)
        yield chunk
    if size is not None and sent != size:
        raise exception.ImageUnacceptable(
            image_id=image_id, reason='Glance sent %d of the image size %d bytes' % (sent, size))


def _image_error(err, image_id):
    if err.code in ('invalid_image', 'checksum_mismatch', 'image_too_large', 'invalid_request',
                    'upload_incomplete'):
        return exception.ImageUnacceptable(image_id=image_id, reason=err.detail or err.code)
    return errors.to_nova(err, image_id=image_id, method='image import')


def root_device(snapshot):
    """The device of the snapshot's root disk: `0`, else its lowest disk."""
    disks = sorted((d for d in snapshot.get('disks') or [] if d.get('type') == 'disk'),
                   key=lambda d: int(d['device']))
    if not disks:
        return None
    return next((d['device'] for d in disks if d['device'] == '0'), disks[0]['device'])


def upload_snapshot(client, context, instance, snapshot, image_id, disk_format):
    """Stream the snapshot's root disk into the Glance image `image_id` in `disk_format`."""
    device = root_device(snapshot)
    if device is None:
        raise exception.ImageNotFound(image_id=image_id)
    path = Client.path('v1', 'instances', instance.uuid, 'snapshots', snapshot['id'], 'disks',
                       device, 'file')
    try:
        stream = client.download(path, {'format': disk_format})
    except ServiceError as err:
        raise errors.to_nova(err, instance, image_id=image_id, method='snapshot')
    with stream:
        IMAGE_API.update(context, image_id, {
            'disk_format': disk_format,
            'container_format': 'bare',
            'properties': {'xcd_instance_id': instance.uuid},
        }, data=stream, purge_props=False)
