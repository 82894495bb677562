# The OpenStack flows of the driver, through Nova's driver interface with Nova's own objects,
# against the running service and its pool: a Glance image (real bytes, served by a stand-in for
# Nova's image API) imported, spawned, snapshotted and uploaded back; bad images and a download
# cut off; Neutron ports and VLANs; resize, revert and confirm inside the pool.
# Owns: those checks and the image API stand-in. Must not: reach XAPI other than through the
# service, or relax a check after looking at what the service offers.
# Environment: as test_xcd_virt_driver.py, plus XCD_VLAN (a VLAN tag in the service's range) and
# the pool's iSCSI target: XCD_ISCSI_PORTAL, XCD_ISCSI_IQN, XCD_ISCSI_USER, XCD_ISCSI_SECRET
# (LUN 0 of 2 GiB, LUN 1 of 3 GiB, none at 9; CHAP required; the pool's initiators allowed),
# and XCD_EVACUABLE_HOST (a host whose guests all run, for the maintenance test).

import hashlib
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.parse
from unittest import mock

import eventlet
import eventlet.event
from nova.compute import task_states
from nova.console import type as ctype
import nova.conf
from nova import exception
from nova import objects
from nova.tests.unit import utils as test_utils
from nova.tests.unit.virt import test_virt_drivers
from nova import test
from oslo_utils import uuidutils

from xcd_nova import images as xcd_images
from xcd_nova.xcd_rest import Client, ServiceError

from test_xcd_virt_driver import _XcdConfigured

CONF = nova.conf.CONF
MiB = 1024 * 1024
GiB = 1024 * MiB
CHUNK = 256 * 1024


def guest_disk():
    """4 MiB of disk: random data, a zero gap, random data (so qcow2 and VHD are sparse)."""
    return os.urandom(MiB) + bytes(2 * MiB) + os.urandom(MiB)


def convert(data, src_fmt, dst_fmt):
    """The bytes of `data` converted by qemu-img (vpc is qemu's name for VHD)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, 'in')
        dst = os.path.join(tmp, 'out')
        with open(src, 'wb') as fh:
            fh.write(data)
        subprocess.run(['qemu-img', 'convert', '-f', src_fmt, '-O', dst_fmt, src, dst],
                       check=True, stdout=subprocess.DEVNULL)
        with open(dst, 'rb') as fh:
            return fh.read()


class FakeImageAPI:
    """Nova's image API as drivers use it, over bytes held here: download() returns an iterator
    of chunks (as nova.image.glance.API.download does without data or dest_path), update()
    reads the data it is given as Glance's upload does. `cut_after` makes a download fail."""

    def __init__(self):
        self.data = {}
        self.downloads = []
        self.uploads = {}
        self.cut_after = None
        self.hold_after = None  # (offset, event): the download waits there for the event

    def download(self, context, image_id, data=None, dest_path=None, trusted_certs=None):
        self.downloads.append(image_id)
        return self._chunks(self.data[image_id])

    def _chunks(self, blob):
        for offset in range(0, len(blob), CHUNK):
            if self.cut_after is not None and offset >= self.cut_after:
                raise IOError('Glance closed the image download at %d bytes' % offset)
            if self.hold_after is not None and offset == self.hold_after[0]:
                self.hold_after[1].wait()
            yield blob[offset:offset + CHUNK]

    def update(self, context, image_id, metadata, data=None, purge_props=True):
        body = b''.join(iter(lambda: data.read(CHUNK), b'')) if data is not None else None
        self.uploads[image_id] = (metadata, body)
        return dict(metadata, id=image_id)


class XcdOpenStackTestCase(_XcdConfigured, test_virt_drivers._VirtDriverTestCase, test.TestCase):

    def setUp(self):
        super().setUp()
        self.flags(glance_import=True, group='xcd')
        self.glance = FakeImageAPI()
        patcher = mock.patch.object(xcd_images, 'IMAGE_API', self.glance)
        patcher.start()
        self.addCleanup(patcher.stop)
        self.client = Client(os.environ['XCD_URL'], os.environ['XCD_TOKEN'])
        self.addCleanup(self._purge_images)

    def _purge_images(self):
        """Every image goes, once its instances have (they hold clones of it). An import a
        test cut off may still be undoing (409 image_busy): that image is deleted once it is."""
        self._purge()
        deadline = time.monotonic() + 30
        for item in self.client.get('/v1/images', {'limit': 1000})['items']:
            while True:
                try:
                    self.client.request('DELETE', Client.path('v1', 'images', item['id']))
                    break
                except ServiceError as err:
                    if err.code != 'image_busy' or time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)

    # -- helpers -----------------------------------------------------------------------------

    def _instance(self, root_gb=1):
        instance = test_utils.get_test_instance(obj=True)
        instance.uuid = uuidutils.generate_uuid()
        instance.flavor.root_gb = root_gb
        instance.flavor.ephemeral_gb = 0
        instance.flavor.swap = 0
        return instance

    def _glance_image(self, blob, disk_format, container_format='bare', checksum=None):
        image_id = uuidutils.generate_uuid()
        self.glance.data[image_id] = blob
        return objects.ImageMeta.from_dict({
            'id': image_id, 'name': 'guest-%s' % disk_format, 'status': 'active',
            'disk_format': disk_format, 'container_format': container_format,
            'size': len(blob), 'checksum': checksum or hashlib.md5(blob).hexdigest(),
            'properties': {}})

    def _spawn(self, instance, image_meta, network_info=None):
        network_info = network_info or test_utils.get_test_network_info()
        self.connection.spawn(self.ctxt, instance, image_meta, [], 'herp', {},
                              network_info=network_info)
        return network_info

    def _get(self, *path):
        return self.client.get(Client.path('v1', *path))

    def _image_gone(self, image_id, settle=30.0):
        """The service has no such image. Images are read from the service's mirror of the
        pool, which follows XAPI's event stream: a VDI destroyed as an import failed leaves it
        a moment later, so an image still listed is looked for again for up to `settle` s."""
        deadline = time.monotonic() + settle
        while True:
            try:
                found = self._get('images', image_id)
            except ServiceError as err:
                self.assertEqual('image_not_found', err.code)
                return
            self.assertLess(time.monotonic(), deadline, 'image %s stays: %s' % (image_id, found))
            time.sleep(0.2)

    def _root(self, instance):
        found = self._get('instances', instance.uuid)
        return next(d for d in found['disks'] if d['device'] == '0')

    # -- Glance images in and out ------------------------------------------------------------

    def test_glance_image_spawn_snapshot_roundtrip(self):
        """qcow2 bytes from Glance -> the service's image -> the root disk -> a snapshot whose
        VHD in Glance holds the same guest bytes; the second spawn uses the service's copy."""
        raw = guest_disk()
        qcow2 = convert(raw, 'raw', 'qcow2')
        image_meta = self._glance_image(qcow2, 'qcow2')
        instance = self._instance(root_gb=1)
        self._spawn(instance, image_meta)

        image = self._get('images', image_meta.id)
        self.assertEqual(('qcow2', 'active', len(raw)),
                         (image['format'], image['status'], image['virtual_size']))
        self.assertEqual('sha256:' + hashlib.sha256(qcow2).hexdigest(), image['checksum'])
        self.assertEqual(1, self._root(instance)['size_gb'])  # grown to the flavor's root_gb
        self.assertEqual('running', self._get('instances', instance.uuid)['power_state'])

        second = self._instance(root_gb=1)
        self._spawn(second, image_meta)
        self.assertEqual([image_meta.id], self.glance.downloads)  # downloaded once

        snapshot_id = uuidutils.generate_uuid()
        states = []
        self.connection.snapshot(
            self.ctxt, instance, snapshot_id,
            lambda task_state, expected_state=None: states.append((task_state, expected_state)))
        self.assertEqual([(task_states.IMAGE_PENDING_UPLOAD, None),
                          (task_states.IMAGE_UPLOADING, task_states.IMAGE_PENDING_UPLOAD)],
                         states)
        metadata, vhd = self.glance.uploads[snapshot_id]
        self.assertEqual(('vhd', 'bare'),
                         (metadata['disk_format'], metadata['container_format']))
        self.assertEqual(b'conectix', vhd[-512:-504])  # a VHD footer ...
        guest = convert(vhd, 'vpc', 'raw')  # ... that qemu-img reads back to the guest bytes
        self.assertEqual(raw, guest[:len(raw)])
        self.assertGreaterEqual(len(guest), GiB - 16 * MiB)
        self.assertEqual(bytes(len(guest) - len(raw)), guest[len(raw):])
        # The pool snapshot went once uploaded ([xcd] keep_snapshots is off).
        self.assertEqual([], self._get('instances', instance.uuid, 'snapshots')['items'])

    def test_glance_vhd_image_and_raw_snapshot(self):
        """A VHD image labelled ovf spawns; [xcd] snapshot_disk_format = raw uploads raw, and
        [xcd] keep_snapshots leaves the pool snapshot in place."""
        raw = guest_disk()
        image_meta = self._glance_image(convert(raw, 'raw', 'vpc'), 'vhd', 'ovf')
        instance = self._instance(root_gb=1)
        self._spawn(instance, image_meta)
        self.assertEqual('vhd', self._get('images', image_meta.id)['format'])
        self.flags(snapshot_disk_format='raw', group='xcd')
        snapshot_id = uuidutils.generate_uuid()
        self.connection.snapshot(self.ctxt, instance, snapshot_id, lambda **kw: None)
        metadata, disk = self.glance.uploads[snapshot_id]
        self.assertEqual(('raw', 'bare'), (metadata['disk_format'], metadata['container_format']))
        self.assertEqual(GiB, len(disk))
        self.assertEqual(raw, disk[:len(raw)])
        # [xcd] keep_snapshots keeps the pool snapshot, under the Glance image's id.
        self.flags(keep_snapshots=True, group='xcd')
        kept_id = uuidutils.generate_uuid()
        self.connection.snapshot(self.ctxt, instance, kept_id, lambda **kw: None)
        self.assertEqual([kept_id], [snap['id'] for snap in
                                     self._get('instances', instance.uuid, 'snapshots')['items']])

    def test_snapshot_upload_failure_leaves_no_snapshot(self):
        """Glance refuses the upload: Nova sees the error, and the pool snapshot is gone."""
        instance = self._instance(root_gb=1)
        self._spawn(instance, self._glance_image(guest_disk(), 'raw'))
        snapshot_id = uuidutils.generate_uuid()
        with mock.patch.object(self.glance, 'update',
                               side_effect=exception.ImageNotAuthorized(image_id=snapshot_id)):
            self.assertRaises(exception.ImageNotAuthorized, self.connection.snapshot,
                              self.ctxt, instance, snapshot_id, lambda **kw: None)
        self.assertEqual([], self._get('instances', instance.uuid, 'snapshots')['items'])
        self.assertEqual('running', self._get('instances', instance.uuid)['power_state'])

    def test_glance_image_the_pool_cannot_take(self):
        """vmdk, iso, an AMI, a guest mode no Xen pool runs, UEFI on a PV guest, Secure Boot on
        BIOS: ImageUnacceptable before any download."""
        cases = [self._glance_image(b'x' * 512, 'vmdk'),
                 self._glance_image(b'x' * 512, 'iso'),
                 self._glance_image(b'x' * 512, 'ami', 'ami')]
        for props in ({'hw_vm_mode': 'exe'}, {'hw_vm_mode': 'xen', 'hw_firmware_type': 'uefi'},
                      {'hw_firmware_type': 'bios', 'os_secure_boot': 'required'}):
            image_meta = self._glance_image(convert(guest_disk(), 'raw', 'qcow2'), 'qcow2')
            for name, value in props.items():
                setattr(image_meta.properties, name, value)
            cases.append(image_meta)
        for image_meta in cases:
            instance = self._instance()
            self.assertRaises(exception.ImageUnacceptable, self._spawn, instance, image_meta)
            self.assertFalse(self.connection.instance_exists(instance))
            self._image_gone(image_meta.id)
        self.assertEqual([], self.glance.downloads)

    def test_glance_bytes_that_are_not_the_format(self):
        """Bytes that are not the qcow2 Glance says, or do not match Glance's checksum:
        ImageUnacceptable (Nova aborts the build), and no image or instance stays."""
        garbage = self._glance_image(os.urandom(MiB), 'qcow2')
        raw = guest_disk()
        wrong_sum = self._glance_image(raw, 'raw', checksum=hashlib.md5(b'other').hexdigest())
        for image_meta in (garbage, wrong_sum):
            instance = self._instance()
            self.assertRaises(exception.ImageUnacceptable, self._spawn, instance, image_meta)
            self.assertFalse(self.connection.instance_exists(instance))
            self._image_gone(image_meta.id)

    def test_glance_download_cut_off(self):
        """Glance fails half way: its error reaches Nova (the build reschedules), the service
        undoes the partial import, and a later spawn imports the image whole."""
        raw = guest_disk()
        image_meta = self._glance_image(raw, 'raw')
        self.glance.cut_after = 2 * MiB
        instance = self._instance()
        self.assertRaises(IOError, self._spawn, instance, image_meta)
        self.assertFalse(self.connection.instance_exists(instance))
        self._image_gone(image_meta.id)
        self.glance.cut_after = None
        self._spawn(instance, image_meta)
        self.assertEqual(len(raw), self._get('images', image_meta.id)['virtual_size'])

    def test_concurrent_builds_share_one_import(self):
        """A build that finds the image importing waits for that import: one download."""
        image_meta = self._glance_image(guest_disk(), 'raw')
        release = eventlet.event.Event()
        self.glance.hold_after = (MiB, release)
        first, second = self._instance(), self._instance()
        building = eventlet.spawn(self._spawn, first, image_meta)
        deadline = time.monotonic() + 30
        while True:  # until the service shows the first import under way
            try:
                if self._get('images', image_meta.id)['status'] == 'importing':
                    break
            except ServiceError as err:
                self.assertEqual('image_not_found', err.code)
            self.assertLess(time.monotonic(), deadline, 'the import never showed')
            eventlet.sleep(0.05)
        waiting = eventlet.spawn(self._spawn, second, image_meta)
        eventlet.sleep(0.5)
        release.send()
        building.wait()
        waiting.wait()
        self.assertEqual([image_meta.id], self.glance.downloads)
        for instance in (first, second):
            self.assertEqual('running', self._get('instances', instance.uuid)['power_state'])

    def test_glance_size_mismatch(self):
        """Glance's bytes run short of (or past) the size it gave: ImageUnacceptable."""
        raw = guest_disk()
        for size in (len(raw) + 512, len(raw) - 512):
            image_meta = self._glance_image(raw, 'raw')
            image_meta.size = size
            instance = self._instance()
            self.assertRaises(exception.ImageUnacceptable, self._spawn, instance, image_meta)
            self.assertFalse(self.connection.instance_exists(instance))
            self._image_gone(image_meta.id)

    # -- Neutron -----------------------------------------------------------------------------

    def test_neutron_ports_and_vlan(self):
        """Each NIC carries its port id; a VIF bound to a VLAN segment joins the service's
        network for that VLAN; unplug_vifs and plug_vifs take them off and put them back;
        attach_interface and detach_interface do the same for one port."""
        vlan = int(os.environ['XCD_VLAN'])
        network_info = test_utils.get_test_network_info(count=2)
        network_info[1]['id'] = uuidutils.generate_uuid()
        network_info[1]['address'] = '02:00:00:00:01:50'
        network_info[1]['details'] = {'vlan': vlan}
        instance = self._instance()
        image_meta = self._glance_image(guest_disk(), 'raw')
        self._spawn(instance, image_meta, network_info)

        vlan_net = next(n for n in self._get('networks')['items'] if n.get('vlan') == vlan)
        expected = [(network_info[0]['address'], os.environ['XCD_NETWORK'], network_info[0]['id']),
                    ('02:00:00:00:01:50', vlan_net['uuid'], network_info[1]['id'])]

        def nics():
            return sorted((n['mac'], n['network'], n.get('port_id'))
                          for n in self._get('instances', instance.uuid, 'nics')['items'])
        self.assertEqual(sorted(expected), nics())
        self.connection.unplug_vifs(instance, network_info)
        self.assertEqual([], nics())
        self.connection.plug_vifs(instance, network_info)
        self.connection.plug_vifs(instance, network_info)  # idempotent
        self.assertEqual(sorted(expected), nics())

        # A hot-plugged port on another VLAN segment, and its detach.
        port = dict(network_info[1], id=uuidutils.generate_uuid(), address='02:00:00:00:01:51',
                    details={'vlan': vlan + 1})
        self.connection.attach_interface(self.ctxt, instance, None, port)
        other = next(n for n in self._get('networks')['items'] if n.get('vlan') == vlan + 1)
        self.assertIn(('02:00:00:00:01:51', other['uuid'], port['id']), nics())
        self.connection.detach_interface(self.ctxt, instance, port)
        self.assertEqual(sorted(expected), nics())

    # -- Cinder iSCSI volumes ----------------------------------------------------------------

    def _iscsi(self, lun, **over):
        volume_id = uuidutils.generate_uuid()
        data = {'target_portal': os.environ['XCD_ISCSI_PORTAL'],
                'target_iqn': os.environ['XCD_ISCSI_IQN'], 'target_lun': lun,
                'auth_method': 'CHAP', 'auth_username': os.environ['XCD_ISCSI_USER'],
                'auth_password': os.environ['XCD_ISCSI_SECRET'], 'target_discovered': False,
                'volume_id': volume_id, 'access_mode': 'rw', 'encrypted': False,
                'qos_specs': None}
        data.update(over)
        return {'driver_volume_type': 'iscsi', 'serial': volume_id,
                'data': {k: v for k, v in data.items() if v is not None or k == 'qos_specs'}}

    def test_iscsi_volume_connector_attach_detach(self):
        """The connector names the pool host's initiator; Cinder's connection_info (CHAP)
        attaches the LUN at the mountpoint's device, and the detach forgets the SR again."""
        instance = self._instance()
        self._spawn(instance, self._glance_image(guest_disk(), 'raw'))
        running_on = self._get('instances', instance.uuid)['host']['uuid']
        host = next(h for h in self._get('host')['hosts'] if h['uuid'] == running_on)
        connector = self.connection.get_volume_connector(instance)
        self.assertEqual((CONF.my_block_storage_ip, host['iscsi_iqn'], host['name']),
                         (connector['ip'], connector['initiator'], connector['host']))
        self.assertTrue(connector['initiator'].startswith('iqn.'))

        connection_info = self._iscsi(1)
        volume_id = connection_info['serial']
        self.assertIsNone(self.connection.attach_volume(self.ctxt, connection_info, instance,
                                                        '/dev/xvdc'))
        volumes = self._get('instances', instance.uuid, 'volumes')['items']
        self.assertEqual([(volume_id, '2', 3, 'RW', True)],
                         [(v['volume_id'], v['device'], v['size_gb'], v['mode'], v['attached'])
                          for v in volumes])
        self.assertEqual({'target_portal': os.environ['XCD_ISCSI_PORTAL'],
                          'target_iqn': os.environ['XCD_ISCSI_IQN'], 'target_lun': 1},
                         volumes[0]['iscsi'])
        self.assertIsNone(self.connection.detach_volume(self.ctxt, connection_info, instance,
                                                        '/dev/xvdc'))
        self.assertEqual([], self._get('instances', instance.uuid, 'volumes')['items'])
        # (nova.test.ts checks the pool holds no SR or PBD of the target once the tests end)

    def test_iscsi_refusals_leave_nothing(self):
        """No target at the portal, wrong CHAP, a missing target field, a LUN the target lacks:
        VolumeAttachFailed (Nova puts the volume back); a volume type the pool cannot attach:
        VolumeDriverNotFound. No volume stays (nor, as nova.test.ts checks at the end, an SR or
        PBD)."""
        instance = self._instance()
        self._spawn(instance, self._glance_image(guest_disk(), 'raw'))
        bad = {'no target there': self._iscsi(0, target_portal='10.9.9.9:3260'),
               'wrong CHAP': self._iscsi(0, auth_password='not-the-secret'),
               'no target_iqn': self._iscsi(0, target_iqn=None),
               'no LUN 9': self._iscsi(9)}
        for what, connection_info in bad.items():
            self.assertRaises(exception.VolumeAttachFailed, self.connection.attach_volume,
                              self.ctxt, connection_info, instance, '/dev/xvdb')
            self.assertEqual([], self._get('instances', instance.uuid, 'volumes')['items'], what)
        rbd = {'driver_volume_type': 'rbd', 'serial': uuidutils.generate_uuid(),
               'data': {'name': 'volumes/volume-1'}}
        self.assertRaises(exception.VolumeDriverNotFound, self.connection.attach_volume,
                          self.ctxt, rbd, instance, '/dev/xvdb')

    def _boot_from_volume(self, connection_info):
        instance = self._instance(root_gb=10)
        block_device_info = {'root_device_name': '/dev/xvda', 'ephemerals': [], 'swap': None,
                             'block_device_mapping': [{'connection_info': connection_info,
                                                       'mount_device': '/dev/xvda',
                                                       'boot_index': 0}]}
        self.connection.spawn(self.ctxt, instance, objects.ImageMeta.from_dict({}), [], 'herp',
                              {}, network_info=test_utils.get_test_network_info(),
                              block_device_info=block_device_info)
        return instance

    def test_boot_from_iscsi_volume(self):
        """A build whose root mapping is a Cinder iSCSI volume boots from the LUN: device 0 of
        the VM is the LUN (bootable, no disk of its own); destroy leaves the LUN, which boots
        the next build, and (as nova.test.ts checks at the end) the target's SR is forgotten."""
        connection_info = self._iscsi(1)
        volume_id = connection_info['serial']
        for _ in range(2):
            instance = self._boot_from_volume(connection_info)
            found = self._get('instances', instance.uuid)
            self.assertEqual('running', found['power_state'])
            volumes = self._get('instances', instance.uuid, 'volumes')['items']
            self.assertEqual([(volume_id, '0', 3, 'RW', True)],
                             [(v['volume_id'], v['device'], v['size_gb'], v['mode'],
                               v['attached']) for v in volumes])
            self.assertEqual({'target_portal': os.environ['XCD_ISCSI_PORTAL'],
                              'target_iqn': os.environ['XCD_ISCSI_IQN'], 'target_lun': 1},
                             volumes[0]['iscsi'])
            self.assertEqual([(volumes[0]['uuid'], True)],
                             [(d['uuid'], d['bootable']) for d in found['disks']
                              if d['type'] == 'disk'])
            # A rescue would need the LUN on a second instance: declined, nothing changed.
            self.assertRaises(exception.InstanceNotRescuable, self.connection.rescue, self.ctxt,
                              instance, test_utils.get_test_network_info(),
                              objects.ImageMeta.from_dict({}), 'herp', None)
            self.assertEqual('running', self._get('instances', instance.uuid)['power_state'])
            self.connection.destroy(self.ctxt, instance, [])
            self.assertFalse(self.connection.instance_exists(instance))

    def test_boot_from_pool_vdi(self):
        """A root mapping naming a pool VDI (connection data `vdi_uuid`) boots from that VDI at
        device 0; destroy detaches it and leaves it, and it boots the next build."""
        vdi_uuid = os.environ['XCD_VOLUME_VDI']
        connection_info = {'driver_volume_type': 'xcd', 'data': {'vdi_uuid': vdi_uuid}}
        for _ in range(2):
            instance = self._boot_from_volume(connection_info)
            found = self._get('instances', instance.uuid)
            self.assertEqual([(vdi_uuid, '0', True)],
                             [(d['uuid'], d['device'], d['bootable']) for d in found['disks']
                              if d['type'] == 'disk'])
            self.connection.destroy(self.ctxt, instance, [])
            self.assertFalse(self.connection.instance_exists(instance))

    def test_boot_from_volume_refusals_leave_nothing(self):
        """A LUN the target lacks: VolumeAttachFailed and no instance; another volume type:
        VolumeDriverNotFound before anything is made."""
        instance = self._instance()
        self.assertRaises(exception.VolumeAttachFailed, self._boot_from_volume, self._iscsi(9))
        rbd = {'driver_volume_type': 'rbd', 'serial': uuidutils.generate_uuid(),
               'data': {'name': 'volumes/volume-1'}}
        self.assertRaises(exception.VolumeDriverNotFound, self._boot_from_volume, rbd)
        self.assertEqual([], self.client.get('/v1/instances', {'limit': 1000})['items'])
        self.assertFalse(self.connection.instance_exists(instance))

    def test_image_boot_settings(self):
        """hw_firmware_type uefi with os_secure_boot required boots UEFI with Secure Boot;
        hw_vm_mode xen a PV guest (pygrub), as the instance shows."""
        for props, shown in (({'hw_firmware_type': 'uefi', 'os_secure_boot': 'required'},
                              {'vm_mode': 'hvm', 'firmware': 'uefi', 'secure_boot': True}),
                             ({'hw_vm_mode': 'xen'}, {'vm_mode': 'pv'})):
            image_meta = self._glance_image(guest_disk(), 'raw')
            for name, value in props.items():
                setattr(image_meta.properties, name, value)
            instance = self._instance()
            self._spawn(instance, image_meta)
            found = self._get('instances', instance.uuid)
            self.assertEqual(shown, {k: found.get(k) for k in shown})
            if shown['vm_mode'] == 'pv':
                self.assertNotIn('firmware', found)
            self.connection.destroy(self.ctxt, instance, [])

    # -- resize and cold migration inside the pool ------------------------------------------

    def _flavor(self, instance, vcpus, memory_mb, root_gb):
        flavor = instance.flavor.obj_clone()
        flavor.vcpus, flavor.memory_mb, flavor.root_gb = vcpus, memory_mb, root_gb
        return flavor

    def _shape(self, instance):
        found = self._get('instances', instance.uuid)
        return (found['vcpus'], found['memory_mb'], self._root(instance)['size_gb'],
                found['power_state'])

    def test_resize_revert_and_confirm(self):
        """A resize grows vCPUs, memory and the root disk; a revert (after Nova's destroy on
        the destination, which keeps the VM) brings back the old flavor and disk; a second
        resize confirmed keeps the new one and leaves no snapshot."""
        instance = self._instance(root_gb=1)
        self._spawn(instance, self._glance_image(guest_disk(), 'raw'))
        old = instance.flavor
        before = self._shape(instance)
        self.assertEqual((old.vcpus, old.memory_mb, 1, 'running'), before)

        new = self._flavor(instance, 2, 1024, 2)
        self.connection.migrate_disk_and_power_off(self.ctxt, instance, 'dest', new, [])
        self.assertEqual('shutdown', self._shape(instance)[3])
        instance.flavor = new
        self.connection.finish_migration(self.ctxt, None, instance, '{}', [], None, True, {})
        self.assertEqual((2, 1024, 2, 'running'), self._shape(instance))

        instance.task_state = task_states.RESIZE_REVERTING
        self.connection.destroy(self.ctxt, instance, [], None, True)  # Nova's revert_resize
        self.assertTrue(self.connection.instance_exists(instance))
        instance.flavor = old
        self.connection.finish_revert_migration(self.ctxt, instance, [], None)
        self.assertEqual(before, self._shape(instance))
        self.assertEqual([], self._get('instances', instance.uuid, 'snapshots')['items'])

        instance.task_state = None
        self.connection.migrate_disk_and_power_off(self.ctxt, instance, 'dest', new, [])
        instance.flavor = new
        self.connection.finish_migration(self.ctxt, None, instance, '{}', [], None, True, {})
        self.connection.confirm_migration(self.ctxt, None, instance, [])
        self.assertEqual((2, 1024, 2, 'running'), self._shape(instance))
        self.assertEqual([], self._get('instances', instance.uuid, 'snapshots')['items'])

    def test_resize_refuses_a_smaller_root_disk(self):
        instance = self._instance(root_gb=2)
        self._spawn(instance, self._glance_image(guest_disk(), 'raw'))
        smaller = self._flavor(instance, 1, 512, 1)
        self.assertRaises(exception.InstanceFaultRollback,
                          self.connection.migrate_disk_and_power_off,
                          self.ctxt, instance, 'dest', smaller, [])
        self.assertEqual('running', self._shape(instance)[3])  # untouched
        self.assertEqual([], self._get('instances', instance.uuid, 'snapshots')['items'])

    # -- rescue ------------------------------------------------------------------------------

    def test_rescue_and_unrescue(self):
        """The rescue instance boots the rescue image with the instance's root disk attached;
        the instance stays halted (power_on refused) until unrescue, which leaves it running on
        its own root disk; a destroy while rescued removes both."""
        instance = self._instance()
        image_meta = self._glance_image(guest_disk(), 'raw')
        network_info = self._spawn(instance, image_meta)
        root = self._root(instance)['uuid']
        rescue_meta = self._glance_image(guest_disk(), 'raw')
        self.connection.rescue(self.ctxt, instance, network_info, rescue_meta, 'pw', None)

        rescue = self._get('instances', instance.uuid + '-rescue')
        self.assertEqual((instance.name + '-rescue', 'running'),
                         (rescue['name'], rescue['power_state']))
        self.assertEqual([root], [v['uuid'] for v in
                                  self._get('instances', rescue['id'], 'volumes')['items']])
        self.assertEqual('shutdown', self._get('instances', instance.uuid)['power_state'])
        self.assertRaises(exception.InstanceInvalidState, self.connection.power_on,
                          self.ctxt, instance, network_info)
        self.assertNotIn(rescue['id'], self.connection.list_instance_uuids())
        self.assertRaises(exception.InstanceNotRescuable, self.connection.rescue,
                          self.ctxt, instance, network_info, rescue_meta, 'pw', None)

        self.connection.unrescue(self.ctxt, instance)
        self.assertRaises(ServiceError, self._get, 'instances', rescue['id'])
        self.assertEqual('running', self._get('instances', instance.uuid)['power_state'])
        self.assertEqual(root, self._root(instance)['uuid'])

        self.connection.rescue(self.ctxt, instance, network_info, rescue_meta, 'pw', None)
        self.connection.destroy(self.ctxt, instance, network_info)
        self.assertEqual([], self._get('instances')['items'])

    # -- the pool's hosts ---------------------------------------------------------------------

    def test_host_enabled_and_maintenance(self):
        """set_host_enabled disables and enables every host of the pool; maintenance of one
        host moves its running instances to the others and keeps it disabled until it ends."""
        def enabled():
            return {h['uuid']: h['enabled'] for h in self._get('host')['hosts']}
        self.assertEqual('disabled', self.connection.set_host_enabled(False))
        self.assertEqual({False}, set(enabled().values()))
        self.assertEqual('enabled', self.connection.set_host_enabled(True))
        self.assertEqual({True}, set(enabled().values()))
        self.assertGreater(len(enabled()), 1)

        instance = self._instance()
        self._spawn(instance, self._glance_image(guest_disk(), 'raw'))
        # Onto a host whose guests all run (a paused guest cannot be live-migrated away).
        self.client.run('POST', Client.path('v1', 'instances', instance.uuid, 'actions'),
                        body={'action': 'migrate', 'host': os.environ['XCD_EVACUABLE_HOST']})
        busy = self._get('instances', instance.uuid)['host']
        self.assertEqual(os.environ['XCD_EVACUABLE_HOST'], busy['uuid'])
        self.assertEqual('on_maintenance',
                         self.connection.host_maintenance_mode(busy['name'], True))
        moved = self._get('instances', instance.uuid)
        self.assertEqual('running', moved['power_state'])
        self.assertNotEqual(busy['uuid'], moved['host']['uuid'])
        self.assertFalse(enabled()[busy['uuid']])
        self.assertEqual('off_maintenance',
                         self.connection.host_maintenance_mode(busy['uuid'], False))
        self.assertTrue(enabled()[busy['uuid']])
        self.assertRaises(exception.ComputeHostNotFound, self.connection.host_maintenance_mode,
                          'no-such-host', True)

    def test_host_cpu_time_and_power_actions(self):
        """get_host_cpu_stats: counters that only grow, whose deltas give the pool's CPU
        utilisation as the hosts report it; host_power_action('startup') finds every host up
        (nothing to power on); reboot and shutdown of the whole pool are declined."""
        first = self.connection.get_host_cpu_stats()
        self.assertEqual({'kernel', 'idle', 'user', 'iowait', 'frequency'}, set(first))
        hosts = [h for h in self._get('host')['hosts'] if h['live']]
        self.assertEqual(max(h['cpu_speed_mhz'] for h in hosts), first['frequency'])
        time.sleep(0.2)
        second = self.connection.get_host_cpu_stats()
        busy = second['user'] - first['user']
        total = busy + second['idle'] - first['idle']
        self.assertGreater(total, 0)
        cpus = sum(h['vcpus']['total'] for h in hosts)
        expected = sum(h['cpu_usage'] * h['vcpus']['total'] for h in hosts) / cpus
        self.assertAlmostEqual(expected, busy / total, places=3)
        self.assertEqual('startup', self.connection.host_power_action('startup'))
        self.assertTrue(all(h['live'] for h in self._get('host')['hosts']))
        for action in ('reboot', 'shutdown'):
            self.assertRaises(NotImplementedError, self.connection.host_power_action, action)

    def test_poll_rebooting_and_abort(self):
        """A reboot Nova saw time out with the instance not running is finished by powering it
        on; an instance already running is left alone. live_migration_abort with no migration
        running has nothing to cancel and leaves the instance where it is."""
        instance = self._instance()
        self._spawn(instance, self._glance_image(guest_disk(), 'raw'))
        self.client.run('POST', Client.path('v1', 'instances', instance.uuid, 'actions'),
                        body={'action': 'power-off', 'type': 'hard'})
        self.assertEqual('shutdown', self._get('instances', instance.uuid)['power_state'])
        self.connection.poll_rebooting_instances(10, [instance])
        after = self._get('instances', instance.uuid)
        self.assertEqual('running', after['power_state'])
        ops = self.client.get(Client.path('v1', 'instances', instance.uuid, 'operations'))
        self.assertEqual('power-on', ops['items'][0]['kind'])
        self.connection.poll_rebooting_instances(10, [instance])
        again = self.client.get(Client.path('v1', 'instances', instance.uuid, 'operations'))
        self.assertEqual(len(ops['items']), len(again['items']))
        self.assertIsNone(self.connection.live_migration_abort(instance))
        self.assertEqual(after['host'], self._get('instances', instance.uuid)['host'])

    # -- the VNC console ---------------------------------------------------------------------

    def test_vnc_console_tunnel(self):
        """What nova-novncproxy does with get_vnc_console's answer: CONNECT <path> to
        host:port, a 200, then RFB with security type None, all from the service itself."""
        instance = self._instance()
        self._spawn(instance, self._glance_image(guest_disk(), 'raw'))
        console = self.connection.get_vnc_console(self.ctxt, instance)
        self.assertIsInstance(console, ctype.ConsoleVNC)
        service = urllib.parse.urlsplit(os.environ['XCD_URL'])
        self.assertEqual(service.port, console.port)
        self.assertNotIn('session', console.internal_access_path)
        with socket.create_connection((console.host, console.port), timeout=15) as sock:
            sock.sendall(b'CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n'
                         % (console.internal_access_path.encode(), console.host.encode()))
            reply = b''
            while b'\r\n\r\n' not in reply:
                data = sock.recv(4096)
                self.assertTrue(data, 'the service closed the tunnel: %r' % reply)
                reply += data
            head, _sep, rest = reply.partition(b'\r\n\r\n')
            self.assertTrue(head.startswith(b'HTTP/1.1 200'), head)
            while len(rest) < 12:
                rest += sock.recv(4096)
            self.assertEqual(b'RFB 003.008\n', rest[:12])
            sock.sendall(b'RFB 003.008\n')
            security = sock.recv(2)
            self.assertEqual(b'\x01\x01', security)  # one security type: None

    # -- what the service offers about disks --------------------------------------------------

    def test_disk_info_and_device_names(self):
        instance = self._instance(root_gb=1)
        self._spawn(instance, self._glance_image(guest_disk(), 'raw'))
        disks = json.loads(self.connection.get_instance_disk_info(instance))
        root = self._root(instance)
        self.assertEqual([('xcd:%s' % root['uuid'], GiB)],
                         [(d['path'], d['virt_disk_size']) for d in disks])
        taken = {int(d['device']) for d in self._get('instances', instance.uuid)['disks']}
        name = self.connection.get_device_name_for_instance(instance, [], None)
        position = ord(name[-1]) - ord('a')
        self.assertTrue(name.startswith('/dev/xvd'))
        self.assertNotIn(position, taken)
        self.assertEqual(min(p for p in range(1, 26) if p not in taken), position)


# The tests run_virt_driver_tests.py runs, in this order.
OWN = [
    'test_glance_image_spawn_snapshot_roundtrip',
    'test_glance_vhd_image_and_raw_snapshot',
    'test_snapshot_upload_failure_leaves_no_snapshot',
    'test_glance_image_the_pool_cannot_take',
    'test_glance_bytes_that_are_not_the_format',
    'test_glance_download_cut_off',
    'test_concurrent_builds_share_one_import',
    'test_glance_size_mismatch',
    'test_neutron_ports_and_vlan',
    'test_iscsi_volume_connector_attach_detach',
    'test_iscsi_refusals_leave_nothing',
    'test_boot_from_iscsi_volume',
    'test_boot_from_pool_vdi',
    'test_boot_from_volume_refusals_leave_nothing',
    'test_image_boot_settings',
    'test_rescue_and_unrescue',
    'test_host_enabled_and_maintenance',
    'test_host_cpu_time_and_power_actions',
    'test_poll_rebooting_and_abort',
    'test_vnc_console_tunnel',
    'test_resize_revert_and_confirm',
    'test_resize_refuses_a_smaller_root_disk',
    'test_disk_info_and_device_names',
]
