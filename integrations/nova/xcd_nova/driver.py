# XcdDriver: a Nova ComputeDriver that forwards every call to the xen-compute-driver REST service.
# Owns: Nova's driver contract (signatures, power-state codes, exceptions, task-state calls).
# Must not: hold hypervisor logic or state; the service (and through it XAPI) is the only truth.
# Signatures accept the trailing parameters newer Nova releases add (share_info, ...).

import re

from nova.compute import power_state
from nova.compute import task_states
from nova.console import type as ctype
from nova import exception
from nova.image import glance
import nova.conf
from nova.virt import driver
from nova.virt import hardware
from oslo_log import log as logging

from xcd_nova import conf as xcd_conf
from xcd_nova import diagnostics
from xcd_nova import errors
from xcd_nova import resources
from xcd_nova import spawn as spawn_body
from xcd_nova.xcd_rest import Client, ServiceError, read_token

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF
xcd_conf.register_opts(CONF)

POWER_STATES = {
    'running': power_state.RUNNING,
    'paused': power_state.PAUSED,
    'shutdown': power_state.SHUTDOWN,
    'suspended': power_state.SUSPENDED,
    'crashed': power_state.CRASHED,
    'nostate': power_state.NOSTATE,
}
CORE_ACTIONS = ('reboot', 'power-off', 'power-on')
PAGE = 1000


class XcdDriver(driver.ComputeDriver):
    capabilities = dict(driver.ComputeDriver.capabilities, **{
        'has_imagecache': False,
        'supports_attach_interface': True,
        'supports_device_tagging': False,
        'supports_image_type_raw': True,
        'supports_image_type_vhd': True,
        'supports_image_type_vdi': True,
    })

    def __init__(self, virtapi, read_only=False):
        super().__init__(virtapi)
        self._client = None
        # In-flight live migrations by instance uuid, as Nova's generic tests expect a driver to
        # keep; the service migrates within the pool synchronously, so it stays empty.
        self.active_migrations = {}

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def client(self):
        if self._client is None:
            opts = CONF.xcd
            token = read_token(opts.token_file) if opts.token_file else None
            self._client = Client(opts.url, token, ca_file=opts.ca_file, verify=opts.verify,
                                  timeout=opts.request_timeout, user_agent='xcd-nova')
        return self._client

    @staticmethod
    def _ipath(instance, *rest):
        return Client.path('v1', 'instances', instance.uuid, *rest)

    def _find(self, instance):
        """The service's Instance, or None when it does not exist."""
        try:
            return self.client.get(self._ipath(instance))
        except ServiceError as err:
            if err.code == 'instance_not_found':
                return None
            raise errors.to_nova(err, instance, method='get_info')

    def _get(self, instance):
        found = self._find(instance)
        if found is None:
            raise exception.InstanceNotFound(instance_id=instance.uuid)
        return found

    def _run(self, method, path, instance, body=None, query=None, what=None):
        try:
            return self.client.run(method, path, body=body, query=query,
                                   timeout=CONF.xcd.operation_timeout)
        except ServiceError as err:
            if (body and body.get('action') not in (None,) + CORE_ACTIONS
                    and err.code == 'invalid_request'):
                raise NotImplementedError('the service has no %r action' % body['action'])
            raise errors.to_nova(err, instance, method=what)

    def _action(self, instance, body, what):
        return self._run('POST', self._ipath(instance, 'actions'), instance, body=body, what=what)

    def _host(self):
        try:
            return self.client.get('/v1/host')
        except ServiceError as err:
            raise errors.to_nova(err, method='host')

    def _catalogue(self, name):
        try:
            return self.client.get(Client.path('v1', name))['items']
        except ServiceError as err:
            raise errors.to_nova(err, method=name)

    # -- host -------------------------------------------------------------------------------

    def init_host(self, host):
        """Check the service answers with this token (fails the start-up early otherwise)."""
        self._host()

    def cleanup_host(self, host):
        self._client = None

    def get_available_resource(self, nodename):
        return resources.available_resource(self._host())

    def get_available_nodes(self, refresh=False):
        return [self._host()['hostname']]

    def update_provider_tree(self, provider_tree, nodename, allocations=None):
        host = self._host()
        ratios = self._get_allocation_ratios(provider_tree.data(nodename).inventory)
        provider_tree.update_inventory(nodename, resources.inventory(host, ratios))

    def get_host_uptime(self):
        return resources.uptime_text(self._host())

    def get_host_ip_addr(self):
        return resources.host_ip(self._host())

    def get_volume_connector(self, instance):
        return {'ip': CONF.my_block_storage_ip, 'initiator': None, 'host': CONF.host}

    # -- instances: reads -------------------------------------------------------------------

    def _all_instances(self):
        offset = 0
        while True:
            try:
                page = self.client.get('/v1/instances', {'limit': PAGE, 'offset': offset})
            except ServiceError as err:
                raise errors.to_nova(err, method='list_instances')
            yield from page['items']
            offset += len(page['items'])
            if not page['items'] or offset >= page['total']:
                return

    def list_instances(self):
        return [i['name'] for i in self._all_instances()]

    def list_instance_uuids(self):
        return [i['id'] for i in self._all_instances()]

    def get_num_instances(self):
        try:
            return self.client.get('/v1/instances', {'limit': 1})['total']
        except ServiceError as err:
            raise errors.to_nova(err, method='get_num_instances')

    def instance_exists(self, instance):
        return self._find(instance) is not None

    def get_info(self, instance, use_cache=True):
        found = self._get(instance)
        return hardware.InstanceInfo(
            state=POWER_STATES.get(found.get('power_state'), power_state.NOSTATE),
            internal_id=found.get('uuid'))

    def _diagnostics(self, instance):
        try:
            return self.client.get(self._ipath(instance, 'diagnostics'))
        except ServiceError as err:
            raise errors.to_nova(err, instance, method='get_diagnostics')

    def get_diagnostics(self, instance):
        return diagnostics.legacy(self._diagnostics(instance))

    def get_instance_diagnostics(self, instance):
        return diagnostics.instance(self._diagnostics(instance),
                                    config_drive=bool(instance.get('config_drive')))

    # -- lifecycle --------------------------------------------------------------------------

    def spawn(self, context, instance, image_meta, injected_files, admin_password,
              allocations, network_info=None, block_device_info=None, power_on=True,
              accel_info=None, *args, **kwargs):
        body = spawn_body.build(instance, image_meta, network_info, block_device_info, power_on,
                                self._catalogue('templates'), self._catalogue('networks'),
                                CONF.xcd)
        events = self._vif_events(network_info) if power_on else []
        try:
            with self.virtapi.wait_for_instance_event(
                    instance, events, deadline=CONF.vif_plugging_timeout,
                    error_callback=self._vif_timeout):
                self.client.run('PUT', self._ipath(instance), body=body,
                                timeout=CONF.xcd.operation_timeout)
        except ServiceError as err:
            if err.code != 'conflict_spawn_mismatch':
                self._destroy_quietly(instance)  # the service undid its steps; this covers a timeout
            raise errors.to_nova(err, instance, image_id=spawn_body._field(image_meta, 'id'),
                                 method='spawn')
        except Exception:
            self._destroy_quietly(instance)
            raise
        try:
            for bdm in driver.block_device_info_get_mapping(block_device_info):
                self.attach_volume(context, bdm['connection_info'], instance,
                                   bdm.get('mount_device'))
        except Exception:
            self._destroy_quietly(instance)
            raise

    @staticmethod
    def _vif_events(network_info):
        if not CONF.vif_plugging_timeout:
            return []
        return [('network-vif-plugged', vif['id'])
                for vif in network_info or [] if vif.get('active', True) is False]

    @staticmethod
    def _vif_timeout(event_name, instance):
        if CONF.vif_plugging_is_fatal:
            raise exception.VirtualInterfaceCreateException()

    def _destroy_quietly(self, instance):
        try:
            self.client.run('DELETE', self._ipath(instance), timeout=CONF.xcd.operation_timeout)
        except ServiceError as err:
            LOG.warning('Clean-up of failed spawn: %s', err, instance=instance)

    def destroy(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, destroy_secrets=True, *args, **kwargs):
        """Remove the instance; succeeds when it is already gone (the service answers 204)."""
        self._run('DELETE', self._ipath(instance), instance,
                  query={'keep_disks': not destroy_disks}, what='destroy')

    def cleanup(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, migrate_data=None, destroy_vifs=True,
                destroy_secrets=True, *args, **kwargs):
        self.destroy(context, instance, network_info, block_device_info, destroy_disks)

    def reboot(self, context, instance, network_info, reboot_type, block_device_info=None,
               bad_volumes_callback=None, accel_info=None, *args, **kwargs):
        """Ends RUNNING whatever the start state (Nova's contract): a halted, paused or
        suspended instance is powered on instead."""
        state = self._get(instance)['power_state']
        if state != 'running':
            self._action(instance, {'action': 'power-on'}, 'reboot')
            return
        kind = 'hard' if str(reboot_type).upper() == 'HARD' else 'soft'
        self._action(instance, {'action': 'reboot', 'type': kind}, 'reboot')

    def power_off(self, instance, timeout=0, retry_interval=0, *args, **kwargs):
        """timeout > 0: clean shutdown, hard after `timeout` seconds; 0: hard at once."""
        if self._get(instance)['power_state'] == 'shutdown':
            return
        body = {'action': 'power-off', 'type': 'clean' if timeout else 'hard'}
        if timeout:
            body['timeout'] = int(min(timeout, 3600))
        self._action(instance, body, 'power_off')

    def power_on(self, context, instance, network_info, block_device_info=None,
                 accel_info=None, *args, **kwargs):
        if self._get(instance)['power_state'] == 'running':
            return
        self._action(instance, {'action': 'power-on'}, 'power_on')

    def resume_state_on_host_boot(self, context, instance, network_info,
                                  block_device_info=None, *args, **kwargs):
        """The pool keeps running across a nova-compute restart; start what Nova thinks runs."""
        if instance.power_state == power_state.RUNNING:
            self.power_on(context, instance, network_info, block_device_info)

    def pause(self, instance):
        self._action(instance, {'action': 'pause'}, 'pause')

    def unpause(self, instance):
        if self._get(instance)['power_state'] != 'paused':
            return
        self._action(instance, {'action': 'unpause'}, 'unpause')

    def suspend(self, context, instance):
        self._action(instance, {'action': 'suspend'}, 'suspend')

    def resume(self, context, instance, network_info, block_device_info=None, *args, **kwargs):
        if self._get(instance)['power_state'] != 'suspended':
            return
        self._action(instance, {'action': 'resume'}, 'resume')

    # -- snapshots, devices, consoles -------------------------------------------------------

    def snapshot(self, context, instance, image_id, update_task_state):
        """A XAPI snapshot of the instance under the Glance image's id, recorded on that image.

        The disk contents stay in the pool (the service offers no export stream): the Glance
        image carries the snapshot's id in its properties (xcd_snapshot_id, xcd_instance_id).
        """
        found = self._find(instance)
        if found is None or found.get('power_state') not in ('running', 'paused', 'shutdown'):
            raise exception.InstanceNotRunning(instance_id=instance.uuid)
        update_task_state(task_state=task_states.IMAGE_PENDING_UPLOAD)
        self._run('PUT', self._ipath(instance, 'snapshots', image_id), instance,
                  body={'name': '%s-%s' % (instance.name, image_id)}, what='snapshot')
        update_task_state(task_state=task_states.IMAGE_UPLOADING,
                          expected_state=task_states.IMAGE_PENDING_UPLOAD)
        glance.API().update(context, image_id, {
            'properties': {'xcd_snapshot_id': str(image_id), 'xcd_instance_id': instance.uuid},
            'disk_format': 'raw', 'container_format': 'bare',
        }, purge_props=False)

    def attach_volume(self, context, connection_info, instance, mountpoint, disk_bus=None,
                      device_type=None, encryption=None, *args, **kwargs):
        """Attach a volume that is a VDI of the pool (connection data `vdi_uuid`)."""
        vdi = _volume_vdi(connection_info)
        body = {}
        position = _device_position(mountpoint)
        if position is not None:
            body['device'] = str(position)
        self._run('PUT', self._ipath(instance, 'volumes', vdi), instance, body=body,
                  what='attach_volume')

    def detach_volume(self, context, connection_info, instance, mountpoint, encryption=None,
                      *args, **kwargs):
        self._run('DELETE', self._ipath(instance, 'volumes', _volume_vdi(connection_info)),
                  instance, what='detach_volume')

    def attach_interface(self, context, instance, image_meta, vif):
        body = spawn_body.nics([vif], self._catalogue('networks'), CONF.xcd)[0]
        try:
            self._run('POST', self._ipath(instance, 'nics'), instance, body=body,
                      what='attach_interface')
        except (NotImplementedError, exception.InstanceNotFound):
            raise
        except exception.NovaException:
            raise exception.InterfaceAttachFailed(instance_uuid=instance.uuid)

    def detach_interface(self, context, instance, vif):
        """Detach the NIC with the VIF's MAC (the service names NICs by device)."""
        mac = (vif.get('address') or '').lower()
        try:
            nics = self.client.get(self._ipath(instance, 'nics'))['items']
            for nic in nics:
                if nic['mac'].lower() == mac:
                    self._run('DELETE', self._ipath(instance, 'nics', nic['device']), instance,
                              what='detach_interface')
                    return
        except ServiceError as err:
            raise errors.to_nova(err, instance, method='detach_interface')
        except exception.InstanceNotFound:
            raise
        except exception.NovaException:
            raise exception.InterfaceDetachFailed(instance_uuid=instance.uuid)
        LOG.warning('No NIC with MAC %s to detach', mac, instance=instance)

    def get_console_output(self, context, instance):
        try:
            return str(self.client.get(self._ipath(instance, 'console', 'log'))['text'])
        except ServiceError as err:
            if err.code == 'console_not_available' and errors.host_lacks_plugin(err):
                raise NotImplementedError('the pool hosts cannot read console logs: %s'
                                          % err.detail)
            raise errors.to_nova(err, instance, method='get_console_output')

    def get_vnc_console(self, context, instance):
        """Where nova-novncproxy connects: the XAPI host, and the path it sends as CONNECT."""
        try:
            console = self.client.get(self._ipath(instance, 'console'))
        except ServiceError as err:
            if err.code == 'console_not_available':
                raise exception.InstanceNotReady(instance_id=instance.uuid)
            raise errors.to_nova(err, instance, method='get_vnc_console')
        return ctype.ConsoleVNC(host=CONF.xcd.vnc_host or console['host'],
                                port=int(console['port']),
                                internal_access_path=console.get('path'))


def _volume_vdi(connection_info):
    vdi = (connection_info.get('data') or {}).get('vdi_uuid')
    if not vdi:
        raise NotImplementedError('volume type %r: only pool VDIs (data.vdi_uuid) attach'
                                  % connection_info.get('driver_volume_type'))
    return vdi


def _device_position(mountpoint):
    """'/dev/xvdc' -> 2: the userdevice a Linux device name stands for."""
    match = re.match(r'^/dev/(?:xv|s|v|h)d([a-z])$', mountpoint or '')
    return ord(match.group(1)) - ord('a') if match else None
