# Translation of the service's problem codes into the Nova exceptions the compute manager acts on.
# Owns: the code -> exception table, and telling "the service lacks this endpoint" apart from a
# real refusal. Must not: call the service, or decide retries (the manager does that).

from nova import exception

from xcd_nova.xcd_rest import ServiceError

# Endpoint-level answers that mean "this service does not offer that call" rather than a refusal:
# Nova's tests and manager treat NotImplementedError as "the driver declines".
_UNSUPPORTED_CODES = ('not_found', 'method_not_allowed', 'http_501')


def unsupported(err):
    """True when the service has no such endpoint (an older or partial service)."""
    return isinstance(err, ServiceError) and err.code in _UNSUPPORTED_CODES


# XAPI's answers when a host has no such plugin (or function): the pool lacks the capability.
_MISSING_PLUGIN = ('MESSAGE_METHOD_UNKNOWN', 'XENAPI_MISSING_PLUGIN',
                   'UNKNOWN_XENAPI_PLUGIN_FUNCTION')


def host_lacks_plugin(err):
    xapi_error = (err.problem.get('xapi_error') or {}).get('code')
    return xapi_error in _MISSING_PLUGIN or any(c in (err.detail or '') for c in _MISSING_PLUGIN)


def to_nova(err, instance=None, image_id=None, method=None):
    """The Nova exception for a ServiceError (or NotImplementedError for a missing endpoint)."""
    uuid = getattr(instance, 'uuid', None) if instance is not None else None
    code = err.code
    detail = err.detail or code
    if unsupported(err):
        return NotImplementedError('the service does not offer %s: %s' % (method or 'this', detail))
    if code == 'instance_not_found':
        return exception.InstanceNotFound(instance_id=uuid)
    if code == 'unreachable' or code == 'xapi_unavailable':
        return exception.HypervisorUnavailable(host=detail)
    if code in ('insufficient_memory', 'no_host_available', 'insufficient_storage', 'sr_not_found'):
        return exception.ComputeResourcesUnavailable(reason=detail)
    if code in ('template_not_found', 'image_not_found', 'boot_settings_conflict'):
        return exception.ImageUnacceptable(image_id=image_id, reason=detail)
    if code in ('network_not_found', 'vlan_not_allowed', 'vlan_in_use'):
        return exception.VirtualInterfaceCreateException(detail)
    if code == 'conflict_spawn_mismatch':
        return exception.InstanceExists(name=getattr(instance, 'name', uuid))
    if code == 'invalid_power_state':
        states = (err.problem.get('xapi_error') or {}).get('params') or []
        return exception.InstanceInvalidState(
            attr='power_state', instance_uuid=uuid,
            state=states[-1] if states else 'unknown', method=method or 'this action')
    if code == 'console_not_available':
        return exception.ConsoleNotAvailable()
    if code == 'volume_not_found':
        return exception.VolumeNotFound(volume_id=detail)
    if code == 'power_cycle_required':
        return exception.InstanceInvalidState(
            attr='power_state', instance_uuid=uuid, state='running', method=method or 'resize')
    if code in ('invalid_value', 'invalid_request', 'device_in_use'):
        return exception.InvalidInput(reason=detail)
    return exception.NovaException('xen-compute-driver: %s' % err)
