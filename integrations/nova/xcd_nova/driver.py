# XcdDriver: a Nova ComputeDriver that forwards every call to the xen-compute-driver REST service.
# Owns: Nova's driver contract (signatures, power-state codes, exceptions, task-state calls).
# Must not: hold hypervisor logic or state; the service (and through it XAPI) is the only truth.
# Signatures accept the trailing parameters newer Nova releases add (share_info, ...).

from nova.compute import power_state
from nova.compute import task_states
from nova.console import type as ctype
from nova import exception
import nova.conf
from nova.virt import driver
from nova.virt import hardware
from oslo_log import log as logging

from xcd_nova import conf as xcd_conf
from xcd_nova import diagnostics
from xcd_nova import disks
from xcd_nova import errors
from xcd_nova import images
from xcd_nova import migration
from xcd_nova import rescue
from xcd_nova import resources
from xcd_nova import spawn as spawn_body
from xcd_nova import volumes
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
        'supports_image_type_qcow2': True,
        'supports_migrate_to_same_host': True,
    })

    def __init__(self, virtapi, read_only=False):
        super().__init__(virtapi)
        self._client = None
        # In-flight live migrations by instance uuid, as Nova's generic tests expect a driver to
        # keep; the service migrates within the pool synchronously, so it stays empty.
        self.active_migrations = {}
        self._cpu_time = resources.CpuTime()

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def client(self):
        if self._client is None:
            opts = CONF.xcd
            token = read_token(opts.token_file) if opts.token_file else None
            self._client = Client(opts.url, token, ca_file=opts.ca_file, verify=opts.verify,
                                  timeout=opts.request_timeout, user_agent='xcd-nova')
        return self._client

    @property
    def conf(self):
        return CONF.xcd

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

    def get_host_cpu_stats(self):
        """The pool's CPU time counters (resources.CpuTime), from each host's utilisation."""
        return self._cpu_time.sample(self._host())

    def host_power_action(self, action):
        """`startup` powers on every host of the pool that is down, through its XAPI power-on
        mode (nothing to do when all are up). `reboot` and `shutdown` are declined: Nova's node
        is the whole pool, and rebooting or stopping it stops every host at once; maintain one
        host with host_maintenance_mode or the service's host actions."""
        if action != 'startup':
            raise NotImplementedError('the node is the whole pool: %s one host at a time through '
                                      "the service's host actions" % action)
        for host in self._host().get('hosts') or []:
            if not host.get('live'):
                self._host_action(host['uuid'], 'power-on')
        return action

    def set_host_enabled(self, enabled):
        """Nova's node is the pool: every host of it takes new instances, or none does
        (`disable`/`enable` of each host; running instances stay)."""
        action = 'enable' if enabled else 'disable'
        for host in self._host().get('hosts') or []:
            self._host_action(host['uuid'], action)
        return 'enabled' if enabled else 'disabled'

    def host_maintenance_mode(self, host, mode):
        """A host of the pool (uuid, name_label or hostname) into maintenance: disabled, its
        instances live-migrated to the others (`evacuate`); out of it: enabled again."""
        self._host_action(host, 'evacuate' if mode else 'enable')
        return 'on_maintenance' if mode else 'off_maintenance'

    def _host_action(self, host, action):
        try:
            self.client.run('POST', Client.path('v1', 'hosts', host, 'actions'),
                            body={'action': action}, timeout=CONF.xcd.operation_timeout)
        except ServiceError as err:
            if err.code == 'host_not_found':
                raise exception.ComputeHostNotFound(host=host)
            raise errors.to_nova(err, method='host %s' % action)

    def get_volume_connector(self, instance):
        """The pool host the instance runs on (else the master): its initiator IQN and name."""
        uuid = getattr(instance, 'uuid', None)
        found = self._find(instance) if uuid else None
        host_uuid = ((found or {}).get('host') or {}).get('uuid')
        return volumes.connector(self._host(), host_uuid, CONF.my_block_storage_ip)

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
        return [i['name'] for i in self._all_instances() if not rescue.is_rescue(i['id'])]

    def list_instance_uuids(self):
        return [i['id'] for i in self._all_instances() if not rescue.is_rescue(i['id'])]

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
        boot = images.boot_settings(image_meta)  # before any import: a refusal makes nothing
        root_bdm = volumes.root_volume(block_device_info)
        if root_bdm is not None:
            # Booted from a volume: the service attaches it as the root disk (device 0).
            root_request, cinder = volumes.root_volume_request(root_bdm)
            source = ('root_volume', root_request)
        else:
            source = self._image_source(context, image_meta, instance)
        body = spawn_body.build(instance, source, network_info, block_device_info, power_on,
                                self._catalogue('networks'), CONF.xcd, boot=boot)
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
            if root_bdm is not None and err.code in volumes.VOLUME_CODES:
                raise volumes.attach_error(err, instance, root_request['volume_id'], cinder)
            raise errors.to_nova(err, instance, image_id=spawn_body._field(image_meta, 'id'),
                                 method='spawn')
        except Exception:
            self._destroy_quietly(instance)
            raise
        try:
            for bdm in driver.block_device_info_get_mapping(block_device_info):
                if bdm is not root_bdm:
                    self.attach_volume(context, bdm['connection_info'], instance,
                                       bdm.get('mount_device'))
        except Exception:
            self._destroy_quietly(instance)
            raise

    def _image_source(self, context, image_meta, instance):
        """spawn.image_source's answer, with a Glance image imported into the service first
        (once: later spawns find it there) and checked against the flavor's root disk."""
        source = spawn_body.image_source(image_meta, self._catalogue('templates'), CONF.xcd)
        if source[0] != 'image':
            return source
        image = images.ensure(self.client, context, image_meta, CONF.xcd.operation_timeout)
        root_gb = instance.flavor.root_gb
        if root_gb and image.get('virtual_size', 0) > root_gb * 1024 ** 3:
            raise exception.FlavorDiskSmallerThanImage(flavor_size=root_gb * 1024 ** 3,
                                                       image_size=image['virtual_size'])
        return source

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
        self._destroy_quietly_id(instance.uuid)

    def _destroy_quietly_id(self, instance_id):
        try:
            self.client.run('DELETE', Client.path('v1', 'instances', instance_id),
                            timeout=CONF.xcd.operation_timeout)
        except ServiceError as err:
            LOG.warning('Clean-up of %s after a failure: %s', instance_id, err)

    def destroy(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, destroy_secrets=True, *args, **kwargs):
        """Remove the instance (and its rescue instance); succeeds when it is already gone
        (the service answers 204). During a resize revert the VM stays: it is the source too."""
        if migration.keeps_vm_for_revert(self, instance):
            LOG.info('Keeping the VM for the resize revert', instance=instance)
            return
        rescue.destroy(self, instance)
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
            self._refuse_if_rescued(instance, 'reboot')
            self._action(instance, {'action': 'power-on'}, 'reboot')
            return
        kind = 'hard' if str(reboot_type).upper() == 'HARD' else 'soft'
        self._action(instance, {'action': 'reboot', 'type': kind}, 'reboot')

    def poll_rebooting_instances(self, timeout, instances):
        """Instances Nova has seen REBOOTING for longer than `timeout`: a reboot the service
        ran either ended with the instance running or failed; one that is not running is
        powered on (hard), as the XenAPI driver hard-rebooted timed-out reboots."""
        for instance in instances:
            if getattr(instance, 'uuid', None) is None:
                continue  # not an instance (Nova's generic test hands in tuples)
            found = self._find(instance)
            if found is None or found.get('power_state') == 'running':
                continue
            if rescue.find(self, instance) is not None:
                continue  # held halted while its rescue instance runs
            LOG.info('Reboot of %s timed out with the instance %s: powering it on',
                     instance.uuid, found.get('power_state'))
            self._action(instance, {'action': 'power-on'}, 'poll_rebooting_instances')

    def live_migration_abort(self, instance):
        """Cancels the instance's running migration in the service (its XAPI task is cancelled
        and the instance stays where it was); with none running there is nothing to abort."""
        path = self._ipath(instance, 'operations')
        try:
            running = self.client.get(path, {'status': 'running'})['items']
        except ServiceError as err:
            raise errors.to_nova(err, instance, method='live_migration_abort')
        for op in running:
            if op.get('kind') != 'migrate':
                continue
            try:
                self.client.request('DELETE', Client.path('v1', 'operations', op['id']))
            except ServiceError as err:
                if err.code != 'operation_finished':  # it ended meanwhile
                    raise errors.to_nova(err, instance, method='live_migration_abort')

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
        self._refuse_if_rescued(instance, 'power_on')
        self._action(instance, {'action': 'power-on'}, 'power_on')

    def _refuse_if_rescued(self, instance, method):
        """The instance is held halted while its rescue instance holds its root disk."""
        if rescue.find(self, instance) is not None:
            raise exception.InstanceInvalidState(attr='vm_state', instance_uuid=instance.uuid,
                                                 state='rescued', method=method)

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

    # -- rescue, soft delete, resize within the pool ----------------------------------------

    def rescue(self, context, instance, network_info, image_meta, rescue_password,
               block_device_info=None, *args, **kwargs):
        rescue.rescue(self, context, instance, network_info, image_meta)

    def unrescue(self, context, instance, *args, **kwargs):
        rescue.unrescue(self, instance)

    def soft_delete(self, instance):
        """Held halted until restore (or until Nova's reclaim destroys it)."""
        self.power_off(instance)

    def restore(self, instance):
        if self._get(instance)['power_state'] != 'running':
            self._action(instance, {'action': 'power-on'}, 'restore')

    def migrate_disk_and_power_off(self, context, instance, dest, flavor, network_info,
                                   block_device_info=None, timeout=0, retry_interval=0,
                                   *args, **kwargs):
        return migration.migrate_disk_and_power_off(self, instance, flavor, timeout,
                                                    retry_interval)

    def finish_migration(self, context, migration_obj, instance, disk_info, network_info,
                         image_meta, resize_instance, allocations, block_device_info=None,
                         power_on=True, *args, **kwargs):
        migration.finish_migration(self, instance, resize_instance, power_on)

    def confirm_migration(self, context, migration_obj, instance, network_info):
        migration.confirm_migration(self, instance)

    def finish_revert_migration(self, context, instance, network_info, migration_obj,
                                block_device_info=None, power_on=True, *args, **kwargs):
        migration.finish_revert_migration(self, instance, power_on)

    # -- snapshots, devices, consoles -------------------------------------------------------

    def snapshot(self, context, instance, image_id, update_task_state):
        """A disk snapshot in the pool under the Glance image's id, its root disk streamed into
        that image ([xcd] snapshot_disk_format), then (unless [xcd] keep_snapshots) deleted."""
        found = self._find(instance)
        if found is None or found.get('power_state') not in ('running', 'paused', 'shutdown'):
            raise exception.InstanceNotRunning(instance_id=instance.uuid)
        update_task_state(task_state=task_states.IMAGE_PENDING_UPLOAD)
        path = self._ipath(instance, 'snapshots', image_id)
        self._run('PUT', path, instance, body={'name': '%s-%s' % (instance.name, image_id)},
                  what='snapshot')
        try:
            try:
                snap = self.client.get(path)
            except ServiceError as err:
                raise errors.to_nova(err, instance, image_id=image_id, method='snapshot')
            update_task_state(task_state=task_states.IMAGE_UPLOADING,
                              expected_state=task_states.IMAGE_PENDING_UPLOAD)
            images.upload_snapshot(self.client, context, instance, snap, image_id,
                                   CONF.xcd.snapshot_disk_format)
        finally:
            if not CONF.xcd.keep_snapshots:
                try:
                    self.client.run('DELETE', path, timeout=CONF.xcd.operation_timeout)
                except ServiceError as err:
                    LOG.warning('Snapshot %s stays in the pool: %s', image_id, err,
                                instance=instance)

    def attach_volume(self, context, connection_info, instance, mountpoint, disk_bus=None,
                      device_type=None, encryption=None, *args, **kwargs):
        """An iSCSI volume by its connection (the service introduces the SR), or a pool VDI
        (connection data `vdi_uuid`)."""
        volume_id, body, cinder = volumes.attachment(connection_info)
        position = volumes.device_position(mountpoint)
        if position is not None:
            body['device'] = str(position)
        try:
            self.client.run('PUT', self._ipath(instance, 'volumes', volume_id), body=body,
                            timeout=CONF.xcd.operation_timeout)
        except ServiceError as err:
            raise volumes.attach_error(err, instance, volume_id, cinder)

    def detach_volume(self, context, connection_info, instance, mountpoint, encryption=None,
                      *args, **kwargs):
        volume_id, _body, cinder = volumes.attachment(connection_info)
        try:
            self.client.run('DELETE', self._ipath(instance, 'volumes', volume_id),
                            timeout=CONF.xcd.operation_timeout)
        except ServiceError as err:
            raise volumes.detach_error(err, instance, volume_id, cinder)

    def get_device_name_for_instance(self, instance, bdms, block_device_obj):
        return disks.free_device_name(self._get(instance), bdms)

    def get_instance_disk_info(self, instance, block_device_info=None):
        found = self._get(instance)
        try:
            attached = self.client.get(self._ipath(instance, 'volumes'))['items']
        except ServiceError as err:
            raise errors.to_nova(err, instance, method='get_instance_disk_info')
        return disks.disk_info(found, {v['uuid'] for v in attached})

    def plug_vifs(self, instance, network_info):
        """Attach each VIF that has no NIC of its MAC yet (idempotent)."""
        present = {n['mac'].lower() for n in self._nics(instance)}
        for vif in network_info or []:
            if (vif.get('address') or '').lower() not in present:
                self.attach_interface(None, instance, None, vif)

    def unplug_vifs(self, instance, network_info):
        for vif in network_info or []:
            self.detach_interface(None, instance, vif)

    def _nics(self, instance):
        try:
            return self.client.get(self._ipath(instance, 'nics'))['items']
        except ServiceError as err:
            raise errors.to_nova(err, instance, method='nics')

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
            for nic in self._nics(instance):
                if nic['mac'].lower() == mac:
                    self._run('DELETE', self._ipath(instance, 'nics', nic['device']), instance,
                              what='detach_interface')
                    return
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
        """Where nova-novncproxy connects, and the path it sends as CONNECT: by default the
        service's own single-use tunnel ([xcd] vnc_console_type)."""
        try:
            console = self.client.get(self._ipath(instance, 'console'),
                                      {'type': CONF.xcd.vnc_console_type})
        except ServiceError as err:
            if err.code == 'console_not_available':
                raise exception.InstanceNotReady(instance_id=instance.uuid)
            raise errors.to_nova(err, instance, method='get_vnc_console')
        return ctype.ConsoleVNC(host=CONF.xcd.vnc_host or console['host'],
                                port=int(console['port']),
                                internal_access_path=console.get('path'))
