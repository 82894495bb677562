# Translation of a Nova build request (instance, flavor, image, network_info) into the service's
# SpawnRequest body. Owns: image -> template/VDI/image choice, flavor -> sizes, VIFs -> NICs
# (a network by bridge, or a VLAN where Neutron gives one), config drive data, the boot
# settings and root volume the driver resolved.
# Must not: call the service (callers pass the catalogue it needs) or touch XAPI.

import math
import re

from nova import exception
from nova.network.model import VIF_DETAILS_VLAN
from nova.virt import configdrive

MAC_RE = re.compile(r'^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$')
# A Neutron port id as the service takes it (PortId in the REST contract).
PORT_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._:-]{0,254}$')
MAX_DISKS = 12
MAX_NICS = 7


def _field(obj, name):
    """An ImageMeta / Instance field, or None when unset (nova objects raise on unset fields)."""
    try:
        if hasattr(obj, 'obj_attr_is_set') and not obj.obj_attr_is_set(name):
            return None
        return getattr(obj, name, None)
    except (NotImplementedError, AttributeError, KeyError):
        return None


def image_source(image_meta, templates, conf):
    """Where the root disk comes from: ('template', name-or-uuid), ('image_vdi', uuid), or
    ('image', Glance id) for an image the driver imports from Glance into the service (unless
    the service has it already); ImageUnacceptable when none applies."""
    image_id = _field(image_meta, 'id')
    image_name = _field(image_meta, 'name')
    for tpl in templates:
        if image_id and tpl.get('uuid') == str(image_id):
            return 'template', tpl['uuid']
    for tpl in templates:
        if image_name and tpl.get('name_label') == image_name:
            return 'template', tpl['uuid']
    if conf.images_are_vdis and image_id:
        return 'image_vdi', str(image_id)
    if conf.glance_import and image_id:
        return 'image', str(image_id)
    if conf.default_template:
        return 'template', conf.default_template
    raise exception.ImageUnacceptable(
        image_id=image_id,
        reason='no pool template matches the image by id or name, the image has no Glance id '
               'to import (or [xcd] glance_import is off), and [xcd] default_template is unset')


def vlan_of(vif):
    """The VLAN segmentation id Neutron's port binding gives the VIF (`binding:vif_details`
    `vlan`, as ML2 mechanism drivers for VLAN segments set it), or None."""
    try:
        tag = int((vif.get('details') or {}).get(VIF_DETAILS_VLAN))
    except (TypeError, ValueError):
        return None
    return tag if 1 <= tag <= 4094 else None


def _network_for(vif, networks, conf):
    net = vif.get('network') or {}
    wanted = [net.get('bridge'), net.get('label'), net.get('id')]
    for key in ('bridge', 'name_label', 'uuid'):
        for pool_net in networks:
            if pool_net.get(key) and pool_net.get(key) in wanted:
                return pool_net['uuid']
    if conf.default_network:
        return conf.default_network
    raise exception.VirtualInterfaceCreateException(
        'no pool network matches bridge %r / network %r and [xcd] default_network is unset'
        % (net.get('bridge'), net.get('id')))


def nics(network_info, networks, conf):
    out = []
    for vif in network_info or []:
        tag = vlan_of(vif) if conf.vlan_networks else None
        nic = {'vlan': tag} if tag else {'network': _network_for(vif, networks, conf)}
        mac = vif.get('address')
        if mac and MAC_RE.match(mac):
            nic['mac'] = mac.lower()
        # The port id goes on the VIF as nicira-iface-id: Neutron's OVS agent binds the port by it.
        port = vif.get('id')
        if port and PORT_RE.match(str(port)):
            nic['port_id'] = str(port)
        out.append(nic)
    if len(out) > MAX_NICS:
        raise exception.InvalidInput(reason='at most %d NICs per instance' % MAX_NICS)
    return out


def _disks(flavor, block_device_info, conf):
    disks = []
    ephemerals = (block_device_info or {}).get('ephemerals') or []
    if ephemerals:
        sizes = [e.get('size') or 0 for e in ephemerals]
    else:
        sizes = [flavor.ephemeral_gb] if flavor.ephemeral_gb else []
    for size in sizes:
        if size:
            disks.append({'size_gb': int(size)})
    swap_mb = flavor.swap or 0
    if swap_mb:
        disks.append({'size_gb': max(1, int(math.ceil(swap_mb / 1024.0)))})
    if conf.sr:
        for disk in disks:
            disk['sr'] = conf.sr
    if len(disks) > MAX_DISKS:
        raise exception.InvalidInput(reason='at most %d disks per instance' % MAX_DISKS)
    return disks


def _config_drive(instance, body):
    user_data = _field(instance, 'user_data')
    if not (configdrive.required_by(instance) or user_data):
        return
    body['metadata'] = {
        'uuid': instance.uuid,
        'name': instance.display_name or instance.name,
        'hostname': _field(instance, 'hostname') or instance.name,
        'launch_index': _field(instance, 'launch_index') or 0,
        'availability_zone': _field(instance, 'availability_zone'),
        'project_id': _field(instance, 'project_id'),
    }
    if user_data:
        body['user_data'] = user_data  # Nova keeps user data base64-encoded already


def build(instance, source, network_info, block_device_info, power_on, networks, conf,
          boot=None):
    """The SpawnRequest body for this build; `source` is image_source's answer, or
    ('root_volume', request) to boot from a volume; `boot` the image's boot settings."""
    flavor = instance.flavor
    kind, source = source
    body = {
        'name': instance.name,
        kind: source,
        'vcpus': int(flavor.vcpus),
        'memory_mb': int(flavor.memory_mb),
        'power_on': bool(power_on),
    }
    # Booted from a volume, the volume is the root disk at its own size.
    if flavor.root_gb and kind != 'root_volume':
        body['root_disk_gb'] = int(flavor.root_gb)
    body.update(boot or {})
    if conf.sr:
        body['sr'] = conf.sr
    disks = _disks(flavor, block_device_info, conf)
    if disks:
        body['disks'] = disks
    nic_list = nics(network_info, networks, conf)
    if nic_list:
        body['nics'] = nic_list
    _config_drive(instance, body)
    return body
