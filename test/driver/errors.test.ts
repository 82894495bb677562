// The one mapping of XAPI failures to API errors: each XAPI code a user can meet becomes its
// HTTP status and stable code, with XAPI's own error kept verbatim and its figures parsed.
import { ApiError, isGone, toApiError } from '../../src/driver/errors';
import { OperationCancelled, StepFailure } from '../../src/driver/steps';
import { TransportError, XapiError } from '../../src/xapi';

const xe = (code: string, ...params: string[]): XapiError =>
  new XapiError(code, params, 'VM.start');

describe('driver error mapping', () => {
  it('maps VM_BAD_POWER_STATE to 409 invalid_power_state with the states', () => {
    const e = toApiError(xe('VM_BAD_POWER_STATE', 'OpaqueRef:1', 'halted, suspended', 'running'));
    expect(e).toMatchObject({ status: 409, code: 'invalid_power_state' });
    expect(e.extra).toEqual({
      expected_power_states: ['halted', 'suspended'],
      actual_power_state: 'running',
    });
    expect(e.xapi_error).toEqual({
      code: 'VM_BAD_POWER_STATE',
      params: ['OpaqueRef:1', 'halted, suspended', 'running'],
    });
    expect(
      toApiError(xe('VM_BAD_POWER_STATE', 'r', 'paused;running', 'halted')).extra,
    ).toMatchObject({
      expected_power_states: ['paused', 'running'],
    });
  });

  it('maps HOST_NOT_ENOUGH_FREE_MEMORY to 409 insufficient_memory with the figures', () => {
    const e = toApiError(xe('HOST_NOT_ENOUGH_FREE_MEMORY', '4294967296', '1073741824'));
    expect(e).toMatchObject({ status: 409, code: 'insufficient_memory' });
    expect(e.extra).toEqual({ needed_bytes: 4294967296, available_bytes: 1073741824 });
  });

  it.each([
    ['HANDLE_INVALID', ['VM', 'OpaqueRef:x'], 404, 'not_found'],
    ['UUID_INVALID', ['VM', 'abc'], 404, 'not_found'],
    ['SR_FULL', ['100', '50'], 507, 'insufficient_storage'],
    [
      'OTHER_OPERATION_IN_PROGRESS',
      ['VM', 'OpaqueRef:1', 'clean_shutdown', 'OpaqueRef:t'],
      409,
      'operation_in_progress',
    ],
    ['OPERATION_BLOCKED', ['OpaqueRef:1', 'reason'], 409, 'operation_blocked'],
    ['OPERATION_NOT_ALLOWED', ['no'], 409, 'operation_not_allowed'],
    ['VM_IS_TEMPLATE', ['OpaqueRef:1', 'start'], 409, 'operation_not_allowed'],
    ['NO_HOSTS_AVAILABLE', [], 409, 'no_host_available'],
    ['VM_REQUIRES_SR', ['OpaqueRef:1', 'OpaqueRef:2'], 409, 'no_host_available'],
    ['VM_LACKS_FEATURE', ['OpaqueRef:1'], 409, 'guest_lacks_feature'],
    ['VDI_IN_USE', ['OpaqueRef:1', 'destroy'], 409, 'disk_in_use'],
    ['TASK_CANCELLED', ['OpaqueRef:t'], 409, 'cancelled'],
    ['MEMORY_CONSTRAINT_VIOLATION_ORDER', [], 422, 'invalid_value'],
    ['VM_SHUTDOWN_TIMEOUT', ['OpaqueRef:1', '60'], 504, 'shutdown_timeout'],
    ['LICENCE_RESTRICTION', ['feature'], 403, 'licence_restriction'],
    ['SESSION_INVALID', ['OpaqueRef:s'], 503, 'xapi_unavailable'],
    ['SOMETHING_NEW', ['a'], 502, 'xapi_error'],
  ])('maps %s to %i %s', (code, params, status, apiCode) => {
    const e = toApiError(xe(code as string, ...(params as string[])));
    expect(e).toMatchObject({ status, code: apiCode, xapi_error: { code, params } });
    expect(e.toJSON()).toMatchObject({ type: `urn:xcd:error:${apiCode}`, status, code: apiCode });
  });

  it('maps transport failures to 503 xapi_unavailable (504 timeout when it timed out)', () => {
    expect(toApiError(new TransportError('ECONNREFUSED', 'connect refused'))).toMatchObject({
      status: 503,
      code: 'xapi_unavailable',
    });
    expect(toApiError(new TransportError('ETIMEDOUT', 'timed out'))).toMatchObject({
      status: 504,
      code: 'timeout',
    });
  });

  it('unwraps step failures, keeps ApiErrors and knows cancellations and gone objects', () => {
    const api = new ApiError(404, 'template_not_found', 'x');
    expect(toApiError(api)).toBe(api);
    expect(toApiError(new StepFailure('clone', xe('SR_FULL', '1', '0'), []))).toMatchObject({
      status: 507,
    });
    expect(toApiError(new OperationCancelled())).toMatchObject({ status: 409, code: 'cancelled' });
    expect(toApiError(new Error('boom'))).toMatchObject({ status: 500, code: 'internal_error' });
    expect(isGone(xe('HANDLE_INVALID', 'VM', 'r'))).toBe(true);
    expect(isGone(xe('VM_BAD_POWER_STATE'))).toBe(false);
  });
});
